"""A measure of checkerboard texture: the share of an image's spectral energy at the periods a
stride-2 transposed convolution (or two stacked) leaves behind.

Protocol (:func:`checkerboard_share`): each image is mapped to [0, 1], converted to luminance
(ITU-R 601), its mean is subtracted and the power spectrum ``|FFT2|^2`` taken (no window: the
peaks sit exactly on frequency bins). The share is the power at the frequencies whose period is
2 or 4 px along each axis, i.e. every (fy, fx) with fy, fx in {0, N/4, N/2, 3N/4} (those that are
whole bins) except (0, 0) - (N/2, 0), (0, N/2), (N/2, N/2) are the 1-px checker of one stride-2
upsampling, the quarter-frequency ones the 2-px checker of two - divided by the total power of
the mean-free image. A flat image has share 0. Averaged over images.

Natural images have some energy there too, so the score of translations is read against the same
measure on real target (or ground-truth) images: ``checkerboard`` well above
``checkerboard_real`` (say twice) is a visible checkerboard.
"""

from __future__ import annotations

import torch

__all__ = ["checkerboard_share", "peak_mask"]


def peak_mask(height: int, width: int) -> torch.Tensor:
    """Boolean (H, W) mask of the period-2 and period-4 frequency bins, DC excluded."""

    def bins(n: int) -> list[int]:
        return sorted({k * n // 4 for k in range(4) if (k * n) % 4 == 0})

    mask = torch.zeros(height, width, dtype=torch.bool)
    for fy in bins(height):
        for fx in bins(width):
            mask[fy, fx] = True
    mask[0, 0] = False
    return mask


def checkerboard_share(x: torch.Tensor) -> float:
    """Mean share of spectral energy at the checkerboard peaks of images (N, C, H, W) in [-1, 1]
    (see the module docstring); NaN for an empty batch."""
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"expected (N, 1 or 3, H, W) images, got shape {tuple(x.shape)}")
    if len(x) == 0:
        return float("nan")
    u = ((x.double() + 1.0) / 2.0).clamp(0.0, 1.0)
    if u.shape[1] == 3:
        w = torch.tensor([0.299, 0.587, 0.114], dtype=u.dtype).view(1, 3, 1, 1)
        u = (u * w).sum(1, keepdim=True)
    g = u[:, 0] - u[:, 0].mean(dim=(-2, -1), keepdim=True)
    power = torch.fft.fft2(g).abs().pow(2)
    total = power.flatten(1).sum(1)
    peaks = power[:, peak_mask(*g.shape[-2:])].sum(1)
    share = torch.where(total > 1e-12, peaks / total.clamp_min(1e-12), torch.zeros_like(total))
    return float(share.mean())
