"""Evaluation of image-to-image translation models on a task's test split.

Paired tasks (pix2pix-style): every test A image is translated and compared with its ground-truth
B image by L1, PSNR and SSIM (:mod:`transynth.eval.metrics`); when B is an embedded digit domain,
the FCN-score analogue ``fcn_accuracy`` is reported: the B-domain evaluator classifies the
translated images and is scored against the pair's label, next to ``fcn_accuracy_real``, the same
evaluator on the real B images (the upper bound).

Unpaired tasks (CycleGAN-style), for AtoB and, for bidirectional models, BtoA:
``{dir}/translation_accuracy`` (target-domain evaluator on translated images vs. the source
labels), ``{dir}/baseline_accuracy`` (the same on untranslated source images converted to the
target channels and size: what "doing nothing" scores), ``{dir}/fid`` and ``{dir}/kid`` between
translated and real target test images in the evaluator's penultimate feature space, and
``{dir}/fid_baseline`` / ``{dir}/kid_baseline`` for the untranslated source images.
``{dir}/translation_accuracy_relabelled`` is a diagnostic: the translation accuracy after the best
one-to-one relabelling of the evaluator's classes (Hungarian). The unpaired objectives do not say
which target class a source class should become; a translator that keeps the classes apart but
swaps some (a 4 drawn as a 9 and a 9 as a 4) scores far higher here than in
``translation_accuracy``, one that loses the class does not.

Paired tasks also get the identity baseline ``l1_identity``, ``psnr_identity``,
``ssim_identity`` (the input unchanged, converted to B's channels), and the blind baseline
``l1_mean_target``, ``psnr_mean_target``, ``ssim_mean_target``: the mean of the training B
images given for every input (what a translator that ignores its input can reach in PSNR),
omitted when the training split is too large to decode whole (``MEAN_TARGET_VALUES``).

Every direction (paired: ``AtoB/``) also gets the label-free metrics of
:mod:`transynth.eval.folder_metrics`: where the target domain has no embedded evaluator (any user
folder), a domain classifier and (with labels) a class classifier trained on the task's own
training images give ``{dir}/realism``, ``{dir}/fid``, ``{dir}/kid``, ``{dir}/translation_accuracy``
with their baselines and ``domain_classifier/test_accuracy`` / ``domain_classifier/weak``; test
files with the same name in both domains give ``{dir}/gt_psnr``, ``{dir}/gt_ssim``,
``{dir}/gt_l1``, their ``_identity`` baselines and ``{dir}/gt_matched``; and ``{dir}/checkerboard``
/ ``{dir}/checkerboard_real`` measure checkerboard texture (:mod:`transynth.eval.checkerboard`).

With local Inception weights (``inception_weights=FILE`` or $TRANSYNTH_INCEPTION_WEIGHTS; see
:mod:`transynth.eval.inception`) every direction, and paired tasks, also get ``inception_fid`` and
``inception_kid`` between translated and real target images, also on folders with no evaluator.

Evaluator accuracies on their real test split are recorded as ``evaluator/{domain}_test_accuracy``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from transynth.eval.classifier import (
    EMBEDDED_DOMAINS,
    DomainClassifier,
    get_evaluator,
    resize_images,
    to_channels,
)
from transynth.eval.folder_metrics import Judges, direction_metrics
from transynth.eval.inception import inception_features, inception_from_env_or
from transynth.eval.metrics import (
    classification_accuracy,
    fid_from_features,
    hungarian_accuracy,
    kid_from_features,
    l1,
    psnr,
    ssim,
)
from transynth.nn.inference import run_batched

#: Training B images averaged into the mean-target baseline of paired tasks (at most), and the
#: most values (images x C x H x W) a training split may hold for the baseline to be computed.
MEAN_TARGET_IMAGES = 4000
MEAN_TARGET_VALUES = 200_000_000

__all__ = ["evaluate_translation", "evaluator_domain_for", "translate_in_batches"]


def evaluator_domain_for(
    name: str, evaluator_domain: Mapping[str, str | None] | None
) -> str | None:
    """The embedded domain whose evaluator judges task domain `name`, or None.

    An explicit ``evaluator_domain`` entry wins (None disables the evaluator); otherwise a domain
    named like one of the embedded digit domains uses that domain's evaluator.
    """
    if evaluator_domain is not None and name in evaluator_domain:
        return evaluator_domain[name]
    return name if name in EMBEDDED_DOMAINS else None


def _model_device(model: Any) -> torch.device:
    if isinstance(model, nn.Module):
        for p in model.parameters():
            return p.device
    return torch.device("cpu")


def translate_in_batches(
    model: Any,
    x: torch.Tensor,
    direction: str,
    batch_size: int = 256,
    device: torch.device | None = None,
) -> torch.Tensor:
    """`model.translate` over `x` in batches, without gradients, as float32 CPU images clamped to
    [-1, 1] (what every translation metric here judges)."""
    if len(x) == 0:
        raise ValueError("no test images to translate")
    device = device or _model_device(model)
    out = run_batched(
        lambda b: model.translate(b, direction=direction), x, batch_size, device=device
    )
    return out.clamp(-1.0, 1.0)


def _batched_mean(fn: Any, a: torch.Tensor, b: torch.Tensor, batch_size: int) -> float:
    """Image-weighted mean of a per-image-averaged metric over batches (exact for L1/PSNR/SSIM)."""
    total = 0.0
    for i in range(0, len(a), batch_size):
        n = len(a[i : i + batch_size])
        total += fn(a[i : i + batch_size], b[i : i + batch_size]) * n
    return total / len(a)


def _limit(x: torch.Tensor, y: torch.Tensor, max_images: int | None) -> tuple[torch.Tensor, ...]:
    if max_images is not None:
        x, y = x[:max_images], y[:max_images]
    return x, y.long()


def _labels_usable(labels: torch.Tensor, evaluator: DomainClassifier) -> bool:
    valid = labels[labels >= 0]
    return len(valid) > 0 and int(valid.max()) < evaluator.num_classes


def evaluate_translation(
    model: Any,
    task: Any,
    *,
    max_images: int | None = None,
    batch_size: int = 256,
    evaluator_domain: Mapping[str, str | None] | None = None,
    inception_weights: str | None = None,
) -> dict[str, float]:
    """Scores of `model` (``translate(x, direction)``) on the test split of `task` (``TaskData``).

    ``max_images`` keeps the first N test images of each domain (pairs stay aligned).
    ``evaluator_domain`` maps task domain names to the embedded domain whose evaluator judges
    them (for domains derived from a digit domain, e.g. ``{"mnist-edges": "mnist"}``).
    ``inception_weights`` (else $TRANSYNTH_INCEPTION_WEIGHTS) adds Inception FID/KID.
    Returns a flat ``{name: float}``; see the module docstring for the names and protocols.
    """
    if max_images is not None and max_images < 1:
        raise ValueError(f"max_images must be positive, got {max_images}")
    device = _model_device(model)
    results: dict[str, float] = {}
    evaluators: dict[str, DomainClassifier] = {}
    inception = inception_from_env_or(inception_weights)
    judges = Judges(task)

    def evaluator(name: str, channels: int) -> DomainClassifier:
        if (name, channels) not in evaluators:
            ev = get_evaluator(name, task.image_size, channels, device=device)
            evaluators[(name, channels)] = ev
            results[f"evaluator/{name}_test_accuracy"] = float(ev.test_accuracy)
        return evaluators[(name, channels)]

    if task.kind == "paired":
        fake, real = _evaluate_paired(
            model, task, results, evaluator, max_images, batch_size, evaluator_domain, judges
        )
        if inception is not None:
            results.update(_inception_scores(inception, fake, real, ""))
    elif task.kind == "unpaired":
        caps = getattr(model, "capabilities", None)
        directions = [("AtoB", 0, 1)]
        if bool(getattr(caps, "bidirectional", False)):
            directions.append(("BtoA", 1, 0))
        for direction, src, tgt in directions:
            translated = _evaluate_unpaired_direction(
                model,
                task,
                direction,
                src,
                tgt,
                results,
                evaluator,
                max_images,
                batch_size,
                evaluator_domain,
                judges,
            )
            if inception is not None:
                results.update(_inception_scores(inception, *translated, f"{direction}/"))
    else:
        raise ValueError(f"evaluate_translation needs a paired or unpaired task, got {task.kind!r}")
    return results


def _mean_training_target(task: Any, xb: torch.Tensor) -> torch.Tensor | None:
    """The mean of the training B images at the test images' shape (1, C, H, W), or None."""
    train = getattr(task, "train", None)
    if train is None or len(train) == 0 or len(train) * xb[0].numel() > MEAN_TARGET_VALUES:
        return None  # a large folder would be decoded whole for one baseline: skipped
    yb, _ = train.domain_tensors(1)
    if len(yb) == 0 or yb.shape[1:] != xb.shape[1:]:
        return None
    return yb[:MEAN_TARGET_IMAGES].float().mean(0, keepdim=True)


def _evaluate_paired(
    model: Any,
    task: Any,
    results: dict[str, float],
    evaluator: Any,
    max_images: int | None,
    batch_size: int,
    evaluator_domain: Mapping[str, str | None] | None,
    judges: Judges,
) -> tuple[torch.Tensor, torch.Tensor]:
    xa, ya = _limit(*task.test.domain_tensors(0), max_images)
    xb, yb = _limit(*task.test.domain_tensors(1), max_images)
    if len(xa) != len(xb):
        raise ValueError(f"paired test split has {len(xa)} A but {len(xb)} B images")
    fake = translate_in_batches(model, xa, "AtoB", batch_size, _model_device(model))
    if fake.shape != xb.shape:
        raise ValueError(
            f"translated images have shape {tuple(fake.shape[1:])}, "
            f"ground truth {tuple(xb.shape[1:])}"
        )
    results["num_images"] = float(len(xa))
    results["l1"] = _batched_mean(l1, fake, xb, batch_size)
    results["psnr"] = _batched_mean(psnr, fake, xb, batch_size)
    results["ssim"] = _batched_mean(ssim, fake, xb, batch_size)
    ident = resize_images(to_channels(xa.float(), xb.shape[1]), xb.shape[-1])
    results["l1_identity"] = _batched_mean(l1, ident, xb, batch_size)
    results["psnr_identity"] = _batched_mean(psnr, ident, xb, batch_size)
    results["ssim_identity"] = _batched_mean(ssim, ident, xb, batch_size)
    mean_b = _mean_training_target(task, xb)
    if mean_b is not None:
        blind = mean_b.expand_as(xb)
        results["l1_mean_target"] = _batched_mean(l1, blind, xb, batch_size)
        results["psnr_mean_target"] = _batched_mean(psnr, blind, xb, batch_size)
        results["ssim_mean_target"] = _batched_mean(ssim, blind, xb, batch_size)
    dom_b = task.domains[1]
    name = evaluator_domain_for(dom_b.name, evaluator_domain)
    own, shared = direction_metrics(
        task, judges if name is None else None, 0, 1, xa, ya, fake, xb, names=False
    )
    results.update({f"AtoB/{k}": v for k, v in own.items()} | shared)
    labels = yb if bool((yb >= 0).any()) else ya
    if name is None or not bool((labels >= 0).any()):
        return fake, xb
    ev = evaluator(name, dom_b.channels)
    if _labels_usable(labels, ev):
        results["fcn_accuracy"] = classification_accuracy(ev.logits(fake, batch_size), labels)
        results["fcn_accuracy_real"] = classification_accuracy(ev.logits(xb, batch_size), labels)
    return fake, xb


def _evaluate_unpaired_direction(
    model: Any,
    task: Any,
    direction: str,
    src: int,
    tgt: int,
    results: dict[str, float],
    evaluator: Any,
    max_images: int | None,
    batch_size: int,
    evaluator_domain: Mapping[str, str | None] | None,
    judges: Judges,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores of one direction: the target's evaluator where it has one, else the task's own
    judges (:mod:`transynth.eval.folder_metrics`), and the ground truth by name and checkerboard
    measure either way. Returns (translated, real target) images."""
    tgt_info = task.domains[tgt]
    name = evaluator_domain_for(tgt_info.name, evaluator_domain)
    xs, ys = _limit(*task.test.domain_tensors(src), max_images)
    xt, _ = _limit(*task.test.domain_tensors(tgt), max_images)
    if len(xs) == 0:
        return xs, xt
    fake = translate_in_batches(model, xs, direction, batch_size, _model_device(model))
    results[f"{direction}/num_images"] = float(len(xs))
    own, shared = direction_metrics(
        task, judges if name is None else None, src, tgt, xs, ys, fake, xt
    )
    results.update({f"{direction}/{k}": v for k, v in own.items()} | shared)
    if name is None:
        return fake, xt
    ev = evaluator(name, tgt_info.channels)
    if _labels_usable(ys, ev):
        fake_logits = ev.logits(fake, batch_size)
        results[f"{direction}/translation_accuracy"] = classification_accuracy(fake_logits, ys)
        # Diagnostic: the same after the best one-to-one relabelling of the evaluator's classes.
        # Far above translation_accuracy, a translator keeps the classes apart but swaps them.
        results[f"{direction}/translation_accuracy_relabelled"] = hungarian_accuracy(
            fake_logits.argmax(1), ys
        )
        results[f"{direction}/baseline_accuracy"] = classification_accuracy(
            ev.logits(xs, batch_size), ys
        )
    f_fake, f_real, f_base = (ev.embed(x, batch_size) for x in (fake, xt, xs))
    if min(len(f_fake), len(f_real)) >= 2:
        results[f"{direction}/fid"] = fid_from_features(f_fake, f_real)
        results[f"{direction}/kid"] = kid_from_features(f_fake, f_real)
        results[f"{direction}/fid_baseline"] = fid_from_features(f_base, f_real)
        results[f"{direction}/kid_baseline"] = kid_from_features(f_base, f_real)
    return fake, xt


def _inception_scores(
    net: Any, fake: torch.Tensor, real: torch.Tensor, prefix: str
) -> dict[str, float]:
    if min(len(fake), len(real)) < 2:
        return {}
    f_fake, f_real = inception_features(net, fake), inception_features(net, real)
    return {
        f"{prefix}inception_fid": fid_from_features(f_fake, f_real),
        f"{prefix}inception_kid": kid_from_features(f_fake, f_real),
    }
