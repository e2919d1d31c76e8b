"""Which metric is the baseline of which, so the report shows each score next to what doing
nothing (or the real data) scores.

For a metric ``[prefix/]name`` the baseline is the first of ``[prefix/]name_baseline`` (the
untranslated source: FID, KID, realism, class accuracy), ``[prefix/]name_identity`` (the input
unchanged against the ground truth: PSNR, SSIM, L1), ``[prefix/]name_real`` (real target images:
checkerboard, FCN score, generators' FID) and, for ``translation_accuracy``,
``baseline_accuracy``, that the metrics hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["BASELINE_SUFFIXES", "baseline_key", "baseline_keys"]

#: Suffixes that name a metric's baseline, in the order they are looked for.
BASELINE_SUFFIXES = ("_baseline", "_identity", "_real")
_RENAMED = {"translation_accuracy": "baseline_accuracy"}


def baseline_key(key: str, values: Mapping[str, Any]) -> str | None:
    """The key of `key`'s baseline in `values`, or None."""
    prefix, _, name = key.rpartition("/")
    head = f"{prefix}/" if prefix else ""
    if any(name.endswith(s) for s in BASELINE_SUFFIXES) or name in _RENAMED.values():
        return None  # a baseline itself
    candidates = [head + name + s for s in BASELINE_SUFFIXES]
    if name in _RENAMED:
        candidates.append(head + _RENAMED[name])
    return next((c for c in candidates if c in values), None)


def baseline_keys(values: Mapping[str, Any]) -> dict[str, str]:
    """{metric: its baseline's key} for every metric of `values` that has one."""
    return {k: b for k in values if (b := baseline_key(k, values)) is not None}
