"""MNIST-M: each MNIST digit blended with a random crop of a bundled photo (Ganin et al. 2016).

The recipe: out = |crop - digit| per channel, so the stroke inverts the photo's colours. Built
from the prepared MNIST arrays in the same order, so the split and labels match ``mnist``.
"""

from __future__ import annotations

import numpy as np

from .photos import load_photos, random_crop

VERSION = 2
SEED = 20170104
SIZE = 28


def blend(digits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(N, 28, 28, 1) uint8 digits -> (N, 28, 28, 3) uint8 MNIST-M images."""
    load_photos()
    out = np.empty((len(digits), SIZE, SIZE, 3), dtype=np.uint8)
    for i, d in enumerate(digits):
        crop = random_crop(rng, SIZE, SIZE, 96).astype(np.int16)
        out[i] = np.abs(crop - d.astype(np.int16)).astype(np.uint8)
    return out


def build(mnist: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """MNIST-M arrays from the MNIST arrays (same split, same labels)."""
    rng = np.random.default_rng(SEED)
    return {
        "x_train": blend(mnist["x_train"], rng),
        "y_train": mnist["y_train"].copy(),
        "x_test": blend(mnist["x_test"], rng),
        "y_test": mnist["y_test"].copy(),
    }
