"""UCI handwritten digits (scikit-learn's load_digits): 1,797 8x8 images upsampled to 28x28.

scikit-learn's copy is the test portion of UCI optdigits: 13 writers (the 30 training writers
are not in it). The stratified random split below therefore puts digits of the same 13 writers
in both splits: a held-out UCI figure measures new digits of known writers, not new writers.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from .common import split_arrays

VERSION = 2
SPLIT_SEED = 20170102
TEST_FRACTION = 0.2
SIZE = 28


def _upsample(img8: np.ndarray) -> np.ndarray:
    """One 8x8 image (0..16) -> smooth 28x28 uint8 (bicubic, clipped)."""
    f = Image.fromarray((img8.astype(np.float32) * (255.0 / 16.0)), mode="F")
    up = np.asarray(f.resize((SIZE, SIZE), Image.BICUBIC))
    return np.clip(up, 0, 255).round().astype(np.uint8)


def build() -> dict[str, np.ndarray]:
    """Stratified 80/20 split; images (N, 28, 28, 1) uint8, white digit on black like MNIST."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = np.stack([_upsample(im) for im in d.images])[..., None]
    return split_arrays(x, np.asarray(d.target), TEST_FRACTION, SPLIT_SEED)
