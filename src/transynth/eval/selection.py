"""Which metrics may choose a run's weights: ``train.best_metric`` and ``train.restart_metric``.

Choosing a checkpoint or a restart by a figure that was computed with the test labels tunes the
run on its test set, and the held-out figures it then reports are optimistic. The rule below
follows how the protocols of :mod:`transynth.eval` compute each metric; it looks at the last
component of a metric's name (``AtoB/translation_accuracy`` -> ``translation_accuracy``), after
a leading ``raw/`` (the live weights' copy under ``train.ema``).

Computed with held-out labels, refused unless ``train.allow_test_selection`` is true:
    - the evaluator's reading of translated or untranslated TEST images scored against the test
      labels of their source images: ``translation_accuracy``, ``translation_accuracy_relabelled``,
      ``baseline_accuracy``; StarGAN's ``class_accuracy`` (and ``_baseline``, ``_relabelled``);
    - a classifier scored on labelled test images: every ``*test_accuracy`` (the method's
      ``target_test_accuracy`` / ``source_test_accuracy``, ``source_only/`` and
      ``via_translation/`` ones, DTN's ``f/``, InfoGAN's ``q_test_accuracy``, and the judges'
      ``evaluator/{domain}_test_accuracy``, ``domain_classifier/`` and ``attribute_classifier/``
      ``test_accuracy``);
    - ``target_train_accuracy_transductive``: the labels of the target TRAINING images, which
      the method must not see either;
    - paired ground truth of the test split: ``fcn_accuracy``, ``fcn_accuracy_real``, ``l1``,
      ``psnr``, ``ssim`` (pix2pix's test pairs; StarGAN's rendered attribute edits, also
      ``l1_baseline``, ``psnr_baseline``);
    - StarGAN's attribute protocol, whose target attributes are built from the test images'
      attribute labels: ``attribute_accuracy``, ``attribute_accuracy_mean``,
      ``edited_attribute_accuracy``, ``identity_l1``.

Allowed (no held-out labels):
    - test IMAGES without their labels: ``fid``, ``kid``, ``fid_baseline``, ``kid_baseline``,
      ``inception_fid``, ``inception_kid``, ``fid_real``, ``kid_real``, StarGAN's
      ``domain_accuracy`` (generated from test images, judged against the requested domain);
      choosing by them still looks at the test images, so they are not independent of them;
    - the evaluator's reading of generated samples: ``code_accuracy``, ``class_of_value_*``,
      ``conditional_accuracy``, ``joint/.../conditional_accuracy``, ``joint/pair_agreement``.
      The evaluators are trained on the labelled TRAINING split of the embedded domain, so these
      use no test labels, but they are the figures the run reports: choosing by them makes those
      figures optimistic about themselves;
    - training images without labels: ``q_train_mutual_information``, ``q_train_balance``;
    - counts (``num_*``) and names outside the built-in protocols (a plug-in's own metrics),
      which this rule cannot classify.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from transynth.runconfig import ConfigError

__all__ = [
    "SELECTION_KEYS",
    "check_selection_metrics",
    "selection_note",
    "selection_record",
    "held_out_label_use",
]

#: Name patterns (last component) of metrics computed with held-out labels -> what they use.
_HELD_OUT_LABELS: tuple[tuple[str, str], ...] = (
    ("translation_accuracy*", "the test labels of the translated source images"),
    ("baseline_accuracy", "the test labels of the untranslated source images"),
    ("class_accuracy*", "the test labels of the translated source images"),
    ("*test_accuracy", "the labels of the test images it classifies"),
    ("target_train_accuracy_transductive", "the labels of the target training images"),
    ("fcn_accuracy*", "the labels of the test pairs"),
    ("l1", "the test split's ground-truth targets"),
    ("psnr", "the test split's ground-truth targets"),
    ("ssim", "the test split's ground-truth targets"),
    ("l1_baseline", "the test split's ground-truth targets"),
    ("psnr_baseline", "the test split's ground-truth targets"),
    ("*attribute_accuracy*", "target attributes built from the test images' attribute labels"),
    ("identity_l1", "the test images' own attribute labels as the generator's input"),
)

#: The train keys that choose weights by a metric.
SELECTION_KEYS = ("best_metric", "restart_metric")


def held_out_label_use(metric: str) -> str | None:
    """What held-out labels `metric` is computed with (a phrase), or None when it uses none.

    See the module docstring for the rule; ``raw/`` and direction or protocol prefixes are
    ignored.
    """
    name = metric.removeprefix("raw/")
    leaf = name.rsplit("/", 1)[-1]
    for pattern, what in _HELD_OUT_LABELS:
        if fnmatchcase(leaf, pattern):
            return what
    return None


def _selected(train: Any) -> list[tuple[str, str, str]]:
    """(key, metric, what it uses) for every selection metric of `train` (a TrainConfig or the
    ``train`` mapping of a saved config.yaml) that uses held-out labels."""
    out = []
    for key in SELECTION_KEYS:
        metric = train.get(key, "") if isinstance(train, dict) else getattr(train, key)
        what = held_out_label_use(metric) if metric else None
        if what is not None:
            out.append((f"train.{key}", metric, what))
    return out


def check_selection_metrics(train: Any) -> None:
    """Refuse a ``train.best_metric`` / ``train.restart_metric`` computed with held-out labels
    unless ``train.allow_test_selection`` is true.

    Args:
        train: a :class:`transynth.runconfig.TrainConfig`.

    Raises:
        ConfigError: naming the key, the metric and the labels it is computed with.
    """
    if train.allow_test_selection:
        return
    for key, metric, what in _selected(train):
        raise ConfigError(
            f"{key}={metric!r} is computed with {what}: choosing weights by it tunes the run "
            "on its held-out labels and makes the reported figures optimistic. Choose a metric "
            "without them (e.g. AtoB/fid, c1/q_train_mutual_information; see "
            "transynth.eval.selection) or set train.allow_test_selection=true to do it "
            "knowingly (recorded in metrics.json and the report)"
        )


def selection_record(train: Any) -> dict[str, float]:
    """Metrics that record a selection on held-out labels: ``selection/test_labels/{key}`` = 1
    for each selection key whose metric uses them (only with ``train.allow_test_selection``)."""
    if not train.allow_test_selection:
        return {}
    return {
        f"selection/test_labels/{key.removeprefix('train.')}": 1.0 for key, *_ in _selected(train)
    }


def selection_note(train: dict[str, Any]) -> str | None:
    """A sentence for the run report when the saved config's ``train`` section chose weights on
    held-out labels (``allow_test_selection``), else None."""
    if not train.get("allow_test_selection", False):
        return None
    chosen = _selected(train)
    if not chosen:
        return None
    uses = "; ".join(f"{key}={metric} is computed with {what}" for key, metric, what in chosen)
    return (
        f"Weights chosen on held-out labels (train.allow_test_selection=true): {uses}. "
        "The held-out figures of this run are optimistic."
    )
