"""Exemplar-based hole filling: multi-scale patch completion driven by PatchMatch.

The method of Wexler, Shechtman and Irani ("Space-Time Completion of Video", TPAMI 2007) with
the nearest-neighbour search of Barnes, Shechtman, Finkelstein and Goldman ("PatchMatch",
SIGGRAPH 2009), as in content-aware fill:

* every hole pixel ``p`` is the centre of a target patch (``patch`` x ``patch`` pixels) and is
  given a source patch centre ``q(p)`` whose patch lies inside the image and holds no hole
  pixel (the nearest-neighbour field, NNF);
* PatchMatch improves the NNF by propagation (``q(p) = q(n) + p - n`` for the four neighbours
  ``n``, kept if the patch distance falls) and random search around ``q(p)`` at halving radii;
  the distance is the sum of squared differences over the patch, with the hole's current
  estimate inside the target patch;
* each hole pixel is then re-estimated by voting: the mean over the target patches that cover
  it of the source pixel each one proposes (expectation-maximisation of Wexler et al.);
* coarse to fine: on an image pyramid (factor 2, hole pixels never averaged in), the coarsest
  hole starts from the smooth fill of :func:`transynth.recompose.fill.diffusion_fill` and a
  random NNF searched over the whole image; each finer level starts from the upsampled
  estimate and NNF of the level below and searches within ``2 * patch`` pixels of it.

Deliberate simplifications: uniform (not distance-weighted) votes and no rotations or scales
of patches. The loops run over patch offsets and candidates and are vectorised over pixels.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.transform import resize

from .fill import diffusion_fill


def _offsets(radius: int) -> np.ndarray:
    r = np.arange(-radius, radius + 1)
    return np.stack(np.meshgrid(r, r, indexing="ij"), -1).reshape(-1, 2)


class _Level:
    """One pyramid level: image, hole, valid source centres, the targets and their NNF."""

    def __init__(self, image: np.ndarray, hole: np.ndarray, radius: int, rng) -> None:
        self.h, self.w = hole.shape
        self.image, self.hole, self.radius, self.rng = image, hole, radius, rng
        self.offsets = _offsets(radius)
        valid = ~ndi.binary_dilation(hole, np.ones((2 * radius + 1,) * 2, bool))
        valid[:radius], valid[self.h - radius :] = False, False
        valid[:, :radius], valid[:, self.w - radius :] = False, False
        self.valid = valid
        self.sources = np.argwhere(valid)
        self.targets = np.argwhere(hole)
        self.index = np.full(hole.shape, -1, np.int64)
        self.index[hole] = np.arange(len(self.targets))

    def random_sources(self, n: int) -> np.ndarray:
        return self.sources[self.rng.integers(len(self.sources), size=n)]

    def distance(self, current: np.ndarray, q: np.ndarray) -> np.ndarray:
        """Sum of squared differences between target patches (in `current`) and sources `q`."""
        t = self.targets
        d = np.zeros(len(t))
        for dy, dx in self.offsets:
            ty = np.clip(t[:, 0] + dy, 0, self.h - 1)
            tx = np.clip(t[:, 1] + dx, 0, self.w - 1)
            diff = current[ty, tx] - self.image[q[:, 0] + dy, q[:, 1] + dx]
            d += (diff**2).sum(-1)
        return d

    def improve(self, current: np.ndarray, q: np.ndarray, d: np.ndarray, cand: np.ndarray):
        """Keep the candidate sources that are valid and closer."""
        cand = np.stack(
            [np.clip(cand[:, 0], 0, self.h - 1), np.clip(cand[:, 1], 0, self.w - 1)], -1
        )
        ok = self.valid[cand[:, 0], cand[:, 1]]
        if not ok.any():
            return q, d
        dc = np.full(len(q), np.inf)
        dc[ok] = self.distance(current, np.where(ok[:, None], cand, q))[ok]
        better = dc < d
        return np.where(better[:, None], cand, q), np.where(better, dc, d)

    def patchmatch(self, current: np.ndarray, q: np.ndarray, passes: int, span: int) -> np.ndarray:
        d = self.distance(current, q)
        t = self.targets
        for _ in range(passes):
            for step in ((0, 1), (1, 0), (0, -1), (-1, 0)):
                ny = np.clip(t[:, 0] - step[0], 0, self.h - 1)
                nx = np.clip(t[:, 1] - step[1], 0, self.w - 1)
                k = self.index[ny, nx]
                has = k >= 0
                cand = q.copy()
                cand[has] = q[k[has]] + np.array(step)
                q, d = self.improve(current, q, d, cand)
            r = span
            while r >= 1:
                jump = self.rng.integers(-r, r + 1, size=q.shape)
                q, d = self.improve(current, q, d, q + jump)
                r //= 2
        return q

    def vote(self, current: np.ndarray, q: np.ndarray) -> np.ndarray:
        """Each hole pixel: the mean of the source pixels its covering patches propose."""
        t, n = self.targets, self.h * self.w
        channels = current.shape[-1]
        acc = np.zeros((n, channels))
        cnt = np.zeros(n)
        for dy, dx in self.offsets:
            ty, tx = t[:, 0] + dy, t[:, 1] + dx
            inside = (ty >= 0) & (ty < self.h) & (tx >= 0) & (tx < self.w)
            lin = ty[inside] * self.w + tx[inside]
            vals = self.image[q[inside, 0] + dy, q[inside, 1] + dx]
            for c in range(channels):
                acc[:, c] += np.bincount(lin, vals[:, c], minlength=n)
            cnt += np.bincount(lin, minlength=n)
        out = current.copy()
        flat = self.hole.ravel()
        got = flat & (cnt > 0)
        out.reshape(n, channels)[got] = acc[got] / cnt[got, None]
        return out


def _downsample(image: np.ndarray, hole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Half-size image averaging known pixels only; a coarse pixel is a hole if all are."""
    h, w = hole.shape
    h2, w2 = h // 2 * 2, w // 2 * 2
    known = (~hole[:h2, :w2]).astype(np.float64)
    img = image[:h2, :w2] * known[..., None]
    s = img.reshape(h2 // 2, 2, w2 // 2, 2, -1).sum((1, 3))
    k = known.reshape(h2 // 2, 2, w2 // 2, 2).sum((1, 3))
    coarse_hole = k < 4  # conservative: any unknown pixel makes the coarse pixel a hole
    return s / np.maximum(k, 1)[..., None], coarse_hole


def patch_fill(
    image: np.ndarray,
    hole: np.ndarray,
    patch: int = 7,
    iterations: int = 3,
    coarsest: int = 16,
    seed: int = 0,
) -> np.ndarray:
    """`image` (H, W, C) float with the `hole` (H, W bool) filled from the image's own patches.

    Falls back to the smooth fill when too little of the image is known to take patches from.
    """
    if not hole.any():
        return image.copy()
    radius = patch // 2
    rng = np.random.default_rng(seed)
    pyramid = [(image.astype(np.float64), hole.copy())]
    while min(pyramid[-1][1].shape) // 2 >= max(coarsest, 4 * patch):
        pyramid.append(_downsample(*pyramid[-1]))
    current, q = None, None
    q_prev_targets = np.zeros((0, 2), np.int64)
    for depth in range(len(pyramid) - 1, -1, -1):
        img, hl = pyramid[depth]
        level = _Level(img, hl, radius, rng)
        if len(level.sources) == 0 or not hl.any():
            if depth == 0:
                return diffusion_fill(image, hole)
            continue
        if current is None:
            current = diffusion_fill(img, hl)
            q = level.random_sources(len(level.targets))
            span = max(img.shape[:2])  # a global search from the random start
        else:
            span = 2 * patch  # the upsampled field is already close: search near it
        if depth < len(pyramid) - 1 and current.shape[:2] != img.shape[:2]:
            up = resize(current, img.shape, order=1, mode="edge")
            current = np.where(hl[..., None], up, img)
            q = _upsample_nnf(q_prev_targets, q, level)
        for _ in range(iterations if depth else max(iterations - 1, 1)):
            q = level.patchmatch(current, q, passes=2 if depth else 1, span=span)
            current = level.vote(current, q)
        q_prev_targets = level.targets
    return np.where(hole[..., None], current, image)


def _upsample_nnf(coarse_targets: np.ndarray, coarse_q: np.ndarray, level: _Level) -> np.ndarray:
    """The finer level's NNF from the coarser one: ``q(p) = 2 q(p // 2) + p % 2``."""
    ch, cw = (level.h + 1) // 2, (level.w + 1) // 2
    lookup = np.full((ch, cw, 2), -1, np.int64)
    lookup[coarse_targets[:, 0], coarse_targets[:, 1]] = coarse_q
    t = level.targets
    cy, cx = np.minimum(t[:, 0] // 2, ch - 1), np.minimum(t[:, 1] // 2, cw - 1)
    prev = lookup[cy, cx]
    q = 2 * prev + (t % 2)
    q = np.stack([np.clip(q[:, 0], 0, level.h - 1), np.clip(q[:, 1], 0, level.w - 1)], -1)
    bad = (prev[:, 0] < 0) | ~level.valid[q[:, 0], q[:, 1]]
    q[bad] = level.random_sources(int(bad.sum()))
    return q
