"""Natural photos bundled with scikit-image and scikit-learn, used as backgrounds."""

from __future__ import annotations

import functools
import os
import warnings

import numpy as np
from PIL import Image

#: skimage.data images shipped inside the wheel (no download needed); gray ones become RGB.
SKIMAGE_PHOTOS = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "immunohistochemistry",
    "camera",
    "brick",
    "grass",
    "gravel",
)
#: sklearn.datasets.load_sample_images() files.
SKLEARN_PHOTOS = ("china.jpg", "flower.jpg")


def as_rgb(a: np.ndarray) -> np.ndarray:
    """`a` as a contiguous uint8 (H, W, 3) array (gray repeated, alpha dropped)."""
    a = np.asarray(a)
    if a.dtype != np.uint8:
        a = np.clip(a, 0, 255).astype(np.uint8)
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    return np.ascontiguousarray(a[:, :, :3])


@functools.lru_cache(maxsize=1)
def load_photos() -> tuple[np.ndarray, ...]:
    """The bundled photos as uint8 (H, W, 3) arrays, in a fixed order."""
    import skimage.data
    from sklearn.datasets import load_sample_images

    photos = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in SKIMAGE_PHOTOS:
            photos.append(as_rgb(getattr(skimage.data, name)()))
        sample = load_sample_images()
    by_name = {
        os.path.basename(f): im for f, im in zip(sample.filenames, sample.images, strict=True)
    }
    for name in SKLEARN_PHOTOS:
        photos.append(as_rgb(by_name[name]))
    for p in photos:
        p.setflags(write=False)
    return tuple(photos)


def random_crop(rng: np.random.Generator, size: int, min_crop: int, max_crop: int) -> np.ndarray:
    """A random square crop (side in [min_crop, max_crop]) of a random photo, resized to `size`.

    Randomly flipped left-right; uint8 (size, size, 3).
    """
    photos = load_photos()
    p = photos[int(rng.integers(len(photos)))]
    h, w = p.shape[:2]
    side = int(rng.integers(min_crop, min(max_crop, h, w) + 1))
    y = int(rng.integers(0, h - side + 1))
    x = int(rng.integers(0, w - side + 1))
    crop = p[y : y + side, x : x + side]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    if side != size:
        crop = np.asarray(
            Image.fromarray(np.ascontiguousarray(crop)).resize(
                (size, size), Image.BILINEAR, reducing_gap=None
            )
        )
    return np.ascontiguousarray(crop)
