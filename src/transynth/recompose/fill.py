"""Smooth hole filling: pull-push interpolation, then harmonic (membrane) smoothing.

The pixels of the hole are filled by pull-push interpolation (Gortler et al., "The Lumigraph",
SIGGRAPH 1996): known pixels are averaged down a pyramid until the hole is covered, then the
coarse values are interpolated back up where pixels are missing; a few Jacobi sweeps of
Laplace's equation ``Delta u = 0`` inside the hole (known pixels as Dirichlet boundary) then
remove the pyramid's blockiness. Seamless at the hole's border, but it smears large holes in
textured backgrounds: the exemplar fill of :mod:`.patchfill` is the default of the rendering,
and this is its starting point and the baseline it is measured against.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.transform import resize


def diffusion_fill(image: np.ndarray, hole: np.ndarray, sweeps: int = 60) -> np.ndarray:
    """`image` (H, W, C) with the `hole` (H, W bool) filled smoothly from its surroundings."""
    if not hole.any():
        return image.copy()
    if hole.all():
        return np.broadcast_to(image.reshape(-1, image.shape[-1]).mean(0), image.shape).copy()
    filled = _pull_push(image.astype(np.float64), (~hole).astype(np.float64))
    # harmonic smoothing (Jacobi sweeps restricted to the hole, known pixels as boundary)
    out = np.where(hole[..., None], filled, image)
    kernel = np.array([[0, 0.25, 0], [0.25, 0, 0.25], [0, 0.25, 0]])
    ys, xs = np.nonzero(hole)
    y0, y1 = max(ys.min() - 1, 0), min(ys.max() + 2, hole.shape[0])
    x0, x1 = max(xs.min() - 1, 0), min(xs.max() + 2, hole.shape[1])
    win, hwin = out[y0:y1, x0:x1], hole[y0:y1, x0:x1]
    for _ in range(sweeps):
        avg = np.stack(
            [ndi.convolve(win[..., c], kernel, mode="nearest") for c in range(win.shape[-1])], -1
        )
        win = np.where(hwin[..., None], avg, win)
    out[y0:y1, x0:x1] = win
    return out


def _pull_push(image: np.ndarray, weight: np.ndarray) -> np.ndarray:
    h, w = weight.shape
    if weight.min() > 0 or min(h, w) <= 2:
        if weight.sum() == 0:
            return np.zeros_like(image)
        mean = (image * weight[..., None]).sum((0, 1)) / weight.sum()
        return np.where(weight[..., None] > 0, image, mean)
    # pull: 2x2 weighted averages (pad to even sizes by edge replication)
    ph, pw = h % 2, w % 2
    img = np.pad(image * weight[..., None], ((0, ph), (0, pw), (0, 0)), mode="edge")
    wt = np.pad(weight, ((0, ph), (0, pw)), mode="edge")
    hh, ww = wt.shape[0] // 2, wt.shape[1] // 2
    csum = img.reshape(hh, 2, ww, 2, -1).sum((1, 3))
    cw = wt.reshape(hh, 2, ww, 2).sum((1, 3))
    coarse = csum / np.maximum(cw, 1e-12)[..., None]
    coarse = _pull_push(coarse, np.minimum(cw, 1.0))
    # push: bilinear upsampling, used where the fine level has no data
    up = resize(coarse, (hh * 2, ww * 2, image.shape[-1]), order=1, mode="edge")[:h, :w]
    a = np.clip(weight, 0, 1)[..., None]
    known = np.where(a > 0, image, 0.0)
    return a * known + (1 - a) * up
