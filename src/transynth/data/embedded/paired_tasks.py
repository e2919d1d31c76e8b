"""Paired tasks with ground-truth pairs: edges2mnist and sans2serif."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from . import printed_digits
from .common import split_arrays

EDGES_VERSION = 2
SANS_VERSION = 2
SANS_SEED = 20170105
SANS_NUM = 5000
SANS_TEST_FRACTION = 0.2  # 4,000 / 1,000
SANS_FONT = "DejaVuSans.ttf"
SERIF_FONT = "DejaVuSerif-Bold.ttf"
SERIF_INK = np.array([25, 45, 120], dtype=np.float32)  # dark blue
SERIF_PAPER = np.array([245, 238, 215], dtype=np.float32)  # cream


def edge_maps(digits: np.ndarray, up: int = 4) -> np.ndarray:
    """Binary outlines (0/255 uint8, N x H x W) of white-on-black digits (N x H x W uint8).

    Each digit is upsampled `up` times (bilinear), thresholded, the ring just outside the stroke
    is taken (dilation minus the shape) and reduced back, so the outline is thin and closed.
    """
    n, h, w = digits.shape
    x = torch.from_numpy(digits.astype(np.float32)).unsqueeze(1)
    big = F.interpolate(x, scale_factor=up, mode="bilinear", align_corners=False)
    mask = (big > 110)[:, 0].numpy()
    grown = mask.copy()
    for _ in range(3):  # three dilations with a 3x3 cross (a diamond of radius 3)
        g = grown.copy()
        g[:, 1:] |= grown[:, :-1]
        g[:, :-1] |= grown[:, 1:]
        g[:, :, 1:] |= grown[:, :, :-1]
        g[:, :, :-1] |= grown[:, :, 1:]
        grown = g
    ring = grown & ~mask
    cover = ring.reshape(n, h, up, w, up).mean(axis=(2, 4))
    return np.where(cover > 0.25, 255, 0).astype(np.uint8)


def build_edges2mnist(mnist: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A = edge maps of the MNIST digits, B = the digits; same split and labels as mnist."""
    out = {}
    for split in ("train", "test"):
        x = mnist[f"x_{split}"]
        out[f"a_{split}"] = edge_maps(x[..., 0])[..., None]
        out[f"b_{split}"] = x.copy()
        out[f"y_{split}"] = mnist[f"y_{split}"].copy()
    return out


def build_sans2serif() -> dict[str, np.ndarray]:
    """The same digit, pose, scale and position in two fonts, 32x32.

    A: DejaVu Sans, black on white (1 channel). B: DejaVu Serif Bold, dark blue on cream (3).
    """
    rng = np.random.default_rng(SANS_SEED)
    size, scale = printed_digits.SIZE, printed_digits.SCALE
    sans = printed_digits.font_path(SANS_FONT)
    serif = printed_digits.font_path(SERIF_FONT)
    labels = rng.permutation(np.arange(SANS_NUM) % 10)
    a = np.empty((SANS_NUM, size, size, 1), dtype=np.uint8)
    b = np.empty((SANS_NUM, size, size, 3), dtype=np.uint8)
    for i, c in enumerate(labels):
        geo = {
            "angle": float(rng.uniform(-12, 12)),
            "offset": (float(rng.uniform(-5, 5)), float(rng.uniform(-5, 5))),
            "size": size * scale,
        }
        font_size = int(rng.integers(34, 57))
        ma = printed_digits.render_mask(sans, font_size, str(c), **geo)
        mb = printed_digits.render_mask(serif, font_size, str(c), **geo)
        ma = ma.reshape(size, scale, size, scale).mean(axis=(1, 3))
        mb = mb.reshape(size, scale, size, scale).mean(axis=(1, 3))[..., None]
        a[i, ..., 0] = np.round(255.0 * (1.0 - ma)).astype(np.uint8)
        b[i] = np.round(SERIF_PAPER * (1 - mb) + SERIF_INK * mb).astype(np.uint8)
    tr = split_arrays(np.arange(SANS_NUM), labels, SANS_TEST_FRACTION, SANS_SEED)
    return {
        "a_train": a[tr["x_train"]],
        "b_train": b[tr["x_train"]],
        "y_train": tr["y_train"],
        "a_test": a[tr["x_test"]],
        "b_test": b[tr["x_test"]],
        "y_test": tr["y_test"],
    }
