"""Reading, converting, resizing and writing images; every image tensor lives in [-1, 1]."""

from __future__ import annotations

import math
import os
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

from transynth.fileio import atomic_path

#: File name endings read as images (lower case).
IMAGE_EXTENSIONS = (
    ".png",
    ".jpg",
    ".jpeg",
    ".bmp",
    ".gif",
    ".tif",
    ".tiff",
    ".webp",
    ".ppm",
    ".pgm",
    ".pbm",
)

_READ_ERRORS = (
    OSError,
    UnidentifiedImageError,
    SyntaxError,
    ValueError,
    Image.DecompressionBombError,
)


def is_image_file(path: str | os.PathLike) -> bool:
    """Whether `path` has an image extension and is not a hidden file."""
    name = os.path.basename(os.fspath(path))
    return not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS)


def image_size_of(path: str | os.PathLike) -> tuple[int, int]:
    """(width, height) from the file header only; ValueError naming the file if unreadable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as img:
                return img.size
    except _READ_ERRORS as e:
        raise ValueError(f"cannot read image file {os.fspath(path)}: {e}") from e


def _high_bit_to_8bit(img: Image.Image) -> Image.Image:
    """16/32-bit integer or float gray -> 8-bit "L" (16-bit range scaled down, floats in [0,1])."""
    a = np.asarray(img)
    if img.mode == "F":
        a = a.astype(np.float64)
        a = a * 255.0 if np.nanmax(a, initial=0.0) <= 1.0 else a
    else:
        a = a.astype(np.float64) / 257.0  # 0..65535 -> 0..255
    return Image.fromarray(np.clip(np.nan_to_num(a), 0, 255).round().astype(np.uint8), "L")


def convert_image(img: Image.Image, mode: str = "RGB") -> Image.Image:
    """`img` as "RGB" or "L": transparency composited on white, palette/16-bit/CMYK handled."""
    if mode not in ("RGB", "L"):
        raise ValueError(f"mode must be 'RGB' or 'L', got {mode!r}")
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        img = _high_bit_to_8bit(img)
    elif img.mode == "1":
        img = img.convert("L")
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif img.mode in ("L", "RGB") and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba).convert("RGB")
    if img.mode not in ("RGB", "L"):
        img = img.convert("RGB")
    return img if img.mode == mode else img.convert(mode)


def load_image(path: str | os.PathLike, mode: str = "RGB") -> Image.Image:
    """Open and fully decode an image file, converted to `mode` ("RGB" or "L").

    Grayscale, palette, 16-bit and transparent images are converted (transparency is composited
    on white); EXIF orientation is applied. Raises ValueError naming the file if it is unreadable.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as img:
                img.load()
                img = ImageOps.exif_transpose(img) or img
                return convert_image(img, mode)
    except _READ_ERRORS as e:
        raise ValueError(f"cannot read image file {os.fspath(path)}: {e}") from e


def image_to_tensor(img: Image.Image, channels: int = 3) -> torch.Tensor:
    """A PIL image as a float32 (C, H, W) tensor in [-1, 1], C = `channels` (1 or 3)."""
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    img = convert_image(img, "L" if channels == 1 else "RGB")
    a = np.asarray(img, dtype=np.uint8)
    t = torch.from_numpy(a.copy())
    t = t.unsqueeze(0) if t.ndim == 2 else t.permute(2, 0, 1)
    return t.float().div_(127.5).sub_(1.0)


def tensor_to_image(t: torch.Tensor) -> Image.Image:
    """A (C, H, W) or (H, W) tensor in [-1, 1] (clamped) as an "L" or "RGB" image."""
    t = t.detach().float().cpu()
    if t.ndim == 3 and t.shape[0] == 1:
        t = t[0]
    if t.ndim == 3 and t.shape[0] != 3:
        raise ValueError(f"expected 1 or 3 channels, got shape {tuple(t.shape)}")
    if t.ndim not in (2, 3):
        raise ValueError(f"expected a (C, H, W) or (H, W) tensor, got shape {tuple(t.shape)}")
    a = ((t.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    if a.ndim == 3:
        return Image.fromarray(a.permute(1, 2, 0).contiguous().numpy(), "RGB")
    return Image.fromarray(a.numpy(), "L")


def to_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 images -> float32 in [-1, 1]."""
    return x.float().div_(127.5).sub_(1.0)


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """Float images in [-1, 1] -> uint8 (rounded, clamped)."""
    return ((x.clamp(-1, 1) + 1) * 127.5).round_().to(torch.uint8)


def convert_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    """(..., C, H, W) float images to `channels`: gray repeated to RGB, RGB to luminance."""
    c = x.shape[-3]
    if c == channels:
        return x
    if c == 1 and channels == 3:
        return x.expand(*x.shape[:-3], 3, *x.shape[-2:]).contiguous()
    if c == 3 and channels == 1:
        w = torch.tensor([0.299, 0.587, 0.114], dtype=x.dtype).view(3, 1, 1)
        return (x * w).sum(dim=-3, keepdim=True)
    raise ValueError(f"cannot convert {c} channels to {channels}")


def resize_tensor(x: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """Bilinear (antialiased) resize of float (N, C, H, W) or (C, H, W) images."""
    hw = (size, size) if isinstance(size, int) else tuple(size)
    if tuple(x.shape[-2:]) == hw:
        return x
    batched = x.ndim == 4
    y = F.interpolate(
        x if batched else x.unsqueeze(0),
        size=hw,
        mode="bilinear",
        antialias=True,
        align_corners=False,
    )
    return y if batched else y[0]


def resize_uint8(
    x: torch.Tensor, size: int, channels: int | None = None, chunk: int = 1024
) -> torch.Tensor:
    """uint8 (N, C, H, W) images resized to size x size (bilinear, antialiased) and converted to
    `channels` (gray repeated to RGB, RGB to luminance), processed in chunks."""
    c = channels or x.shape[1]
    if tuple(x.shape[-2:]) == (size, size) and c == x.shape[1]:
        return x
    out = torch.empty((x.shape[0], c, size, size), dtype=torch.uint8)
    for i in range(0, x.shape[0], chunk):
        y = x[i : i + chunk]
        if tuple(y.shape[-2:]) != (size, size):
            y = F.interpolate(
                y, size=(size, size), mode="bilinear", antialias=True, align_corners=False
            )
        if y.shape[1] != c:
            y = to_uint8(convert_channels(to_float(y), c)) if c == 1 else y.expand(-1, c, -1, -1)
        out[i : i + chunk] = y
    return out


def make_grid(
    images: torch.Tensor, nrow: int, padding: int = 2, pad_value: float = 1.0
) -> torch.Tensor:
    """(N, C, H, W) images tiled `nrow` per row into one (C, H', W') image with padding."""
    if images.ndim == 3:
        images = images.unsqueeze(0)
    n, c, h, w = images.shape
    if n == 0:
        raise ValueError("save_grid needs at least one image")
    ncol = max(1, min(int(nrow), n))
    rows = math.ceil(n / ncol)
    grid = torch.full(
        (c, rows * (h + padding) + padding, ncol * (w + padding) + padding), float(pad_value)
    )
    for k in range(n):
        r, q = divmod(k, ncol)
        y, x = padding + r * (h + padding), padding + q * (w + padding)
        grid[:, y : y + h, x : x + w] = images[k]
    return grid


def save_grid(images: torch.Tensor, path: str | os.PathLike, nrow: int) -> None:
    """Save (N, C, H, W) images in [-1, 1] as one PNG grid, `nrow` images per row.

    One-channel images are written as gray. The file is written atomically (temp file + rename).
    """
    grid = make_grid(images.detach().float().cpu().clamp(-1, 1), nrow)
    img = tensor_to_image(grid)
    with atomic_path(path) as tmp:
        img.save(tmp, format="PNG")
