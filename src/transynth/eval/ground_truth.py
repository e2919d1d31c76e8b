"""Ground truth by file name: a test picture whose file name key (``split.file_names``) exists in
both the source and the target domain is its own translation's ground truth (name-aligned
unaligned folders, domains folders drawn picture by picture).

:func:`ground_truth_scores` reports, over the matched names, ``gt_psnr``, ``gt_ssim``, ``gt_l1``
of the translations against the target images, the identity baseline ``gt_psnr_identity``,
``gt_ssim_identity``, ``gt_l1_identity`` (the untranslated source converted to the target's
channels: what doing nothing scores) and ``gt_matched`` (how many names matched). The metrics are
those of :mod:`transynth.eval.metrics` (PSNR capped at 100 dB for identical images).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

import torch

from transynth.eval.classifier import resize_images, to_channels
from transynth.eval.metrics import l1, psnr, ssim

__all__ = ["ground_truth_scores", "name_matches"]


def name_matches(
    source: Sequence[str] | None, target: Sequence[str] | None
) -> tuple[list[int], list[int]]:
    """(source positions, target positions) of the names present once on each side, in source
    order; empty without names. A name that occurs twice on a side (``cat/x`` and ``dog/x`` once
    the class folders are left out) is ambiguous and not matched."""
    if not source or not target:
        return [], []
    once_s = {n for n, k in Counter(source).items() if k == 1}
    count_t = Counter(target)
    where_t = {n: j for j, n in enumerate(target) if count_t[n] == 1}
    pairs = [(i, where_t[n]) for i, n in enumerate(source) if n in once_s and n in where_t]
    return [i for i, _ in pairs], [j for _, j in pairs]


def _mean(
    fn: Callable[[torch.Tensor, torch.Tensor], float],
    a: torch.Tensor,
    b: torch.Tensor,
    batch_size: int = 256,
) -> float:
    """Image-weighted mean of a per-image-averaged metric over batches (exact)."""
    total = 0.0
    for i in range(0, len(a), batch_size):
        n = len(a[i : i + batch_size])
        total += fn(a[i : i + batch_size], b[i : i + batch_size]) * n
    return total / len(a)


def ground_truth_scores(
    fake: torch.Tensor, source: torch.Tensor, truth: torch.Tensor
) -> dict[str, float]:
    """GT metrics of aligned (N, C, H, W) translations, their inputs and ground truths."""
    if not (len(fake) == len(source) == len(truth)):
        raise ValueError(f"{len(fake)} translations, {len(source)} inputs, {len(truth)} truths")
    if len(fake) == 0:
        return {"gt_matched": 0.0}
    truth = truth.float()
    ident = resize_images(to_channels(source.float(), truth.shape[1]), truth.shape[-1])
    fake = resize_images(to_channels(fake.float(), truth.shape[1]), truth.shape[-1])
    return {
        "gt_matched": float(len(fake)),
        "gt_psnr": _mean(psnr, fake, truth),
        "gt_ssim": _mean(ssim, fake, truth),
        "gt_l1": _mean(l1, fake, truth),
        "gt_psnr_identity": _mean(psnr, ident, truth),
        "gt_ssim_identity": _mean(ssim, ident, truth),
        "gt_l1_identity": _mean(l1, ident, truth),
    }
