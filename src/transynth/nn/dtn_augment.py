"""DTN's augmentations of the source images f pre-trains on (``f_augment``,
``f_augment_strokes``; not in the paper, see :mod:`transynth.models.dtn`): random affine warps
and gray copies, elastic warps and varied stroke widths."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def augment_for_f(x: torch.Tensor) -> torch.Tensor:
    """Source images for f's pre-training: a random affine warp (rotation +-15 degrees, shear
    +-0.3, scale 0.85-1.15) and, for half of the RGB images, their gray copy, so that f's code
    depends less on the source domain's style (f must later judge target-style images)."""
    n, dev = len(x), x.device
    u = torch.rand(4, n, device=dev)
    angle, shear, scale = (u[0] - 0.5) * math.radians(30), (u[1] - 0.5) * 0.6, 0.85 + 0.3 * u[2]
    cos, sin, zero = torch.cos(angle) / scale, torch.sin(angle) / scale, torch.zeros_like(angle)
    theta = torch.stack(
        [torch.stack([cos, shear - sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1
    )
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, padding_mode="border", align_corners=False)
    if x.shape[1] == 3:
        gray = x.mean(1, keepdim=True).expand_as(x)
        x = torch.where((u[3] < 0.5).view(n, 1, 1, 1), gray, x)
    return x


def elastic_warp(x: torch.Tensor, alpha_px: float = 2.5, cells: int = 4) -> torch.Tensor:
    """A random smooth displacement of each image (Simard et al. 2003): a `cells` x `cells`
    grid of N(0, 1) offsets, bicubically upsampled and scaled to about `alpha_px` pixels, the
    way pen strokes of one digit vary between writers."""
    n, _, h, w = x.shape
    offsets = torch.randn(n, 2, cells, cells, device=x.device)
    offsets = F.interpolate(offsets, size=(h, w), mode="bicubic", align_corners=False)
    ys, xs = torch.meshgrid(
        torch.linspace(-1, 1, h, device=x.device),
        torch.linspace(-1, 1, w, device=x.device),
        indexing="ij",
    )
    grid = torch.stack([xs, ys], -1)[None] + offsets.permute(0, 2, 3, 1) * (2 * alpha_px / h)
    return F.grid_sample(x, grid.to(x.dtype), padding_mode="border", align_corners=True)


def vary_strokes(x: torch.Tensor) -> torch.Tensor:
    """A third of the images dilated, a third eroded (3x3 max / min filters), a third kept:
    strokes of other widths (on a dark background dilation thickens them, on a light one it
    thins them)."""
    n = len(x)
    u = torch.rand(n, device=x.device).view(n, 1, 1, 1)
    dilated = F.max_pool2d(x, 3, 1, 1)
    eroded = -F.max_pool2d(-x, 3, 1, 1)
    return torch.where(u < 1 / 3, dilated, torch.where(u > 2 / 3, eroded, x))
