"""Label-free metrics of one translation direction, for any folder (or task).

For a direction source -> target with translations ``fake`` of the source test images ``xs``
(labels ``ys``) and the real target test images ``xt``:

- where the target has no embedded evaluator, a domain classifier trained on the task's training
  images (:func:`transynth.eval.folder_classifier.task_judge`):
  ``domain_classifier/test_accuracy`` (held out), ``domain_classifier/weak`` (1 when below
  ``MIN_DOMAIN_ACCURACY``, with a warning); ``{dir}/realism``, the share of translations it
  assigns to the target, and ``{dir}/realism_baseline`` for the untranslated source images;
  ``{dir}/fid`` / ``{dir}/kid`` against the real target test images in its statistics feature
  space, with ``{dir}/fid_baseline`` / ``{dir}/kid_baseline`` for the untranslated source;
- where, in addition, the source test images carry labels and the target's training images
  do, a class classifier trained on the target's training labels: ``{dir}/translation_accuracy``
  (translations read as their source's class) and ``{dir}/baseline_accuracy`` (the untranslated
  source), with ``class_classifier/{target}_test_accuracy`` where the target test images have
  labels;
- ground truth by file name (:mod:`transynth.eval.ground_truth`): ``{dir}/gt_psnr``, ... and
  ``{dir}/gt_matched`` whenever test names exist on both sides;
- ``{dir}/checkerboard`` and ``{dir}/checkerboard_real`` (:mod:`transynth.eval.checkerboard`):
  the translations' checkerboard share next to the real target images'.
"""

from __future__ import annotations

from typing import Any

import torch

from transynth.eval.checkerboard import checkerboard_share
from transynth.eval.folder_classifier import MIN_DOMAIN_ACCURACY, TaskJudge, task_judge
from transynth.eval.ground_truth import ground_truth_scores, name_matches
from transynth.eval.metrics import classification_accuracy, fid_from_features, kid_from_features

__all__ = ["Judges", "direction_metrics", "realism_scores"]


class Judges:
    """The judges of one evaluation, trained (or loaded) once and shared by its directions."""

    def __init__(self, task: Any, seed: int = 0) -> None:
        self.task, self.seed = task, seed
        self._made: dict[Any, TaskJudge | None] = {}

    def domains(self) -> TaskJudge:
        """The A-vs-B domain classifier (class k = domain k)."""
        if "domains" not in self._made:
            self._made["domains"] = task_judge(self.task, (0, 1), seed=self.seed)
        return self._made["domains"]  # type: ignore[return-value]

    def classes(self, target: int) -> TaskJudge | None:
        """The class classifier of `target`, or None when its training images have no labels."""
        key = ("classes", target)
        if key not in self._made:
            info = self.task.domains[target]
            try:
                judge = task_judge(
                    self.task, (target,), "classes", classes=info.class_names, seed=self.seed
                )
            except LookupError:
                judge = None
            self._made[key] = judge
        return self._made[key]


def realism_scores(
    judge: TaskJudge, k_target: int, fake: torch.Tensor, xs: torch.Tensor, xt: torch.Tensor
) -> dict[str, float]:
    """realism (+ baseline) and FID/KID (+ baselines) of one direction in `judge`'s space."""
    out = {
        "realism": float((judge.logits(fake).argmax(1) == k_target).float().mean()),
        "realism_baseline": float((judge.logits(xs).argmax(1) == k_target).float().mean()),
    }
    if min(len(fake), len(xt), len(xs)) >= 2:
        f_fake, f_real, f_base = (judge.features(x) for x in (fake, xt, xs))
        out["fid"] = fid_from_features(f_fake, f_real)
        out["kid"] = kid_from_features(f_fake, f_real)
        out["fid_baseline"] = fid_from_features(f_base, f_real)
        out["kid_baseline"] = kid_from_features(f_base, f_real)
    return out


def direction_metrics(
    task: Any,
    judges: Judges | None,
    src: int,
    tgt: int,
    xs: torch.Tensor,
    ys: torch.Tensor,
    fake: torch.Tensor,
    xt: torch.Tensor,
    *,
    names: bool = True,
) -> tuple[dict[str, float], dict[str, float]]:
    """(per-direction metrics without the ``{dir}/`` prefix, task-wide metrics) of one direction.

    `judges` None: the target has an embedded evaluator, so only the ground truth by name and
    the checkerboard measure are added. `names` False skips the ground truth by name (paired
    tasks, whose ground truth is the pair).
    """
    own: dict[str, float] = {}
    shared: dict[str, float] = {}
    if judges is not None and len(xt):
        dj = judges.domains()
        shared["domain_classifier/test_accuracy"] = dj.test_accuracy
        shared["domain_classifier/weak"] = float(not dj.test_accuracy >= MIN_DOMAIN_ACCURACY)
        own.update(realism_scores(dj, tgt, fake, xs, xt))
        if bool((ys >= 0).any()) and task.domains[tgt].num_classes:
            cj = judges.classes(tgt)
            if cj is not None:
                own["translation_accuracy"] = classification_accuracy(cj.logits(fake), ys)
                own["baseline_accuracy"] = classification_accuracy(cj.logits(xs), ys)
                if cj.test_accuracy == cj.test_accuracy:  # not NaN
                    shared[f"class_classifier/{task.domains[tgt].name}_test_accuracy"] = (
                        cj.test_accuracy
                    )
    if names:
        listing = getattr(task.test, "file_names", None)
        s_names, t_names = (listing(d) if listing else None for d in (src, tgt))
        i, j = name_matches(
            s_names[: len(xs)] if s_names else None, t_names[: len(xt)] if t_names else None
        )
        if i:
            own.update(ground_truth_scores(fake[i], xs[i], xt[j]))
    own["checkerboard"] = checkerboard_share(fake)
    if len(xt):
        own["checkerboard_real"] = checkerboard_share(xt)
    return own, shared
