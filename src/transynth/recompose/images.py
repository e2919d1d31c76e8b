"""Image helpers shared by the recomposition modules: reading, converting, resizing."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image
from skimage.transform import resize

ImageLike = Union[str, os.PathLike, Image.Image, np.ndarray]  # noqa: UP007


def to_float_rgb(image: ImageLike, name: str = "image") -> tuple[np.ndarray, bool]:
    """(H, W, 3) float array in [0, 1] and whether the image is grayscale.

    Accepts a path, a PIL image or an array (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), of
    integers in 0..255 (0..65535 for 16-bit), floats in [0, 1] or booleans.
    """
    if isinstance(image, (str, os.PathLike)):
        from transynth.data.imageio import load_image

        path = Path(image)
        if not path.is_file():
            raise FileNotFoundError(f"{name} file {os.fspath(path)} does not exist")
        image = load_image(path, "RGB")
    if isinstance(image, Image.Image):
        from transynth.data.imageio import convert_image

        image = np.asarray(convert_image(image, "RGB"))
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[2] in (1, 3, 4):
        a = a[..., :3] if a.shape[2] != 1 else a[..., 0]
    if a.ndim not in (2, 3) or a.size == 0 or (a.ndim == 3 and a.shape[2] != 3):
        raise ValueError(
            f"{name} must be an (H, W) or (H, W, 1|3|4) image, got an array of shape {a.shape}"
        )
    if a.dtype == bool:
        a = a.astype(np.float64)
    elif np.issubdtype(a.dtype, np.integer):
        a = a.astype(np.float64) / (65535.0 if a.max(initial=0) > 255 else 255.0)
    elif np.issubdtype(a.dtype, np.floating):
        a = a.astype(np.float64)
        if not np.isfinite(a).all():
            raise ValueError(f"{name} holds NaN or infinite values")
        if a.max(initial=0) > 1.0 + 1e-6:
            a = a / 255.0
    else:
        raise ValueError(f"{name} has unsupported dtype {a.dtype}")
    a = np.clip(a, 0.0, 1.0)
    if a.ndim == 2:
        return np.repeat(a[..., None], 3, axis=2), True
    gray = bool(np.allclose(a[..., 0], a[..., 1]) and np.allclose(a[..., 1], a[..., 2]))
    return a, gray


def downscale(image: np.ndarray, max_side: int) -> np.ndarray:
    """`image` with its longest side at most `max_side` (anti-aliased)."""
    h, w = image.shape[:2]
    f = max_side / max(h, w)
    if f >= 1:
        return image
    size = (max(int(round(h * f)), 1), max(int(round(w * f)), 1))
    return resize(image, size + image.shape[2:], order=1, anti_aliasing=True)


def upsample_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A boolean mask resized to `shape` (bilinear, thresholded at one half)."""
    if mask.shape == shape:
        return mask.copy()
    return resize(mask.astype(np.float64), shape, order=1) >= 0.5
