"""How sure a benchmark figure is: the test set's sampling error and the spread over seeds.

Two different sources of doubt, reported separately because they answer different questions:

- **Test-set sampling** (``wilson_interval``): an accuracy measured on n held-out images is a
  binomial proportion; its 95% Wilson score interval (Wilson, JASA 1927) says how far the same
  model's accuracy on another n images of the domain could plausibly be. On the 359 UCI test
  digits it is about +-4.5 points at 70%. For accuracies after a Hungarian matching (InfoGAN's
  ``code_accuracy``) the matching is chosen on the same images, so the interval is a slight
  under-statement there.
- **Training seeds** (``summarize_seeds``): GAN training is chaotic, and the same preset on
  another seed can land 10 points away (docs/BENCHMARKS.md, InfoGAN). Runs of one benchmark
  entry on several seeds (``transynth benchmark ENTRY --seeds 0,1,2``; names ``base``,
  ``base-seed1``, ...) are summarised by mean, sample standard deviation, min and max.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Mapping
from typing import Any

# An accuracy metric's leaf name -> the leaf of the metric holding its number of images.
_COUNT_OF = {
    "translation_accuracy": "num_images",
    "translation_accuracy_relabelled": "num_images",
    "baseline_accuracy": "num_images",
    "target_test_accuracy": "num_target_test",
    "target_train_accuracy_transductive": "num_target_train",
    "source_test_accuracy": "num_source_test",
    "code_accuracy": "num_generated",
    "conditional_accuracy": "num_generated",
}
_SEED_SUFFIX = re.compile(r"-seed(\d+)$")


def wilson_interval(accuracy: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion `accuracy` observed on `n` items (95% at the
    default z). Unlike the normal approximation it stays inside [0, 1] and is not empty at 0
    or 1."""
    if n <= 0:
        raise ValueError(f"an interval needs at least one item, got n={n}")
    if not 0.0 <= accuracy <= 1.0:
        raise ValueError(f"accuracy must lie in [0, 1], got {accuracy}")
    z2 = z * z
    centre = (accuracy + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(accuracy * (1 - accuracy) / n + z2 / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def count_for(metric: str, metrics: Mapping[str, float]) -> int | None:
    """The number of images behind accuracy `metric`, when the metrics record it.

    The count is looked up beside the metric and then in each enclosing prefix
    (``raw/c1/code_accuracy`` -> ``raw/c1/num_generated``, ``raw/num_generated``,
    ``num_generated``); None when the metric is not a known accuracy or no count is recorded.
    """
    *prefix, leaf = metric.split("/")
    count_leaf = _COUNT_OF.get(leaf)
    if count_leaf is None:
        return None
    for depth in range(len(prefix), -1, -1):
        key = "/".join([*prefix[:depth], count_leaf])
        if key in metrics and metrics[key] >= 1:
            return int(metrics[key])
    return None


def accuracy_interval(metric: str, metrics: Mapping[str, float]) -> tuple[float, float] | None:
    """The 95% Wilson interval of accuracy `metric` in `metrics`, or None when its count is
    unknown or its value is not a proportion (e.g. NaN for an empty split)."""
    n = count_for(metric, metrics)
    value = metrics.get(metric)
    if n is None or value is None or not 0.0 <= value <= 1.0:
        return None
    return wilson_interval(float(value), n)


def seed_of(name: str) -> tuple[str, int]:
    """Split a benchmark entry name into its base and seed: ``x-seed2`` -> (``x``, 2),
    ``x`` -> (``x``, 0)."""
    match = _SEED_SUFFIX.search(name)
    if match is None:
        return name, 0
    return name[: match.start()], int(match.group(1))


def summarize_seeds(table: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Mean, sample std, min and max of each headline metric over the seeds of every entry run
    on at least two seeds. `table` is a benchmark results table (name -> result dict with
    ``metrics`` and ``headline``). Runs of one base name that differ in method, task, preset,
    steps or batch are not pooled (that would average different experiments): their entry has
    ``"mixed"`` set to the differing settings and no statistics."""
    groups: dict[str, dict[int, Mapping[str, Any]]] = {}
    for name, result in table.items():
        base, seed = seed_of(name)
        groups.setdefault(base, {})[seed] = result
    summary: dict[str, dict[str, Any]] = {}
    for base, runs in groups.items():
        if len(runs) < 2:
            continue
        settings = {
            tuple(r.get(k) for k in ("method", "task", "preset", "steps", "batch_size"))
            for r in runs.values()
        }
        seeds = sorted(runs)
        first = runs[seeds[0]]
        entry: dict[str, Any] = {
            "method": first.get("method"),
            "task": first.get("task"),
            "seeds": seeds,
            "metrics": {},
        }
        summary[base] = entry
        if len(settings) > 1:
            entry["mixed"] = sorted(map(str, settings))
            continue
        for metric in first.get("headline", []):
            values = [runs[s]["metrics"].get(metric) for s in seeds]
            values = [float(v) for v in values if v is not None and math.isfinite(v)]
            if len(values) >= 2:
                entry["metrics"][metric] = {
                    "mean": statistics.fmean(values),
                    "std": statistics.stdev(values),
                    "min": min(values),
                    "max": max(values),
                    "n": float(len(values)),
                }
    return summary
