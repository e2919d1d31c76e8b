"""Printed digits (an SVHN-like domain) rendered from the fonts bundled with matplotlib.

Each image shows one centred digit in a random font, colour, scale, small rotation and position,
with parts of neighbouring digits at the sides, over a random crop of a bundled photo whose
contrast is lowered so the digit stays readable. Rendering is done at twice the size and reduced.
"""

from __future__ import annotations

import functools
import math
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .common import split_arrays
from .photos import random_crop

VERSION = 2
SEED = 20170103
NUM_IMAGES = 6000
TEST_FRACTION = 1 / 6  # 5,000 train / 1,000 test
SIZE = 32
SCALE = 2  # render at SIZE * SCALE, then reduce (antialiasing)

#: Candidate fonts inside matplotlib's mpl-data/fonts/ttf. The cm* math fonts cmex10/cmsy10 map
#: digit code points to symbols and cmmi10 has old-style digits, so they are left out.
FONT_FILES = (
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSans-Oblique.ttf",
    "DejaVuSans-BoldOblique.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf",
    "DejaVuSansMono-Oblique.ttf",
    "DejaVuSansMono-BoldOblique.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSerif-Italic.ttf",
    "DejaVuSerif-BoldItalic.ttf",
    "STIXGeneral.ttf",
    "STIXGeneralBol.ttf",
    "STIXGeneralItalic.ttf",
    "STIXGeneralBolIta.ttf",
    "cmr10.ttf",
    "cmb10.ttf",
    "cmss10.ttf",
    "cmtt10.ttf",
    "cmti10.ttf",
)
DIGITS = "0123456789"


def font_dir() -> str:
    """matplotlib's bundled TrueType folder."""
    import matplotlib

    return os.path.join(os.path.dirname(matplotlib.__file__), "mpl-data", "fonts", "ttf")


@functools.lru_cache(maxsize=512)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def _renders_digits(path: str) -> bool:
    """True if the font draws ten distinct, non-empty glyphs for 0-9."""
    try:
        font = _font(path, 24)
    except OSError:
        return False
    seen = set()
    for ch in DIGITS:
        im = Image.new("L", (40, 40), 0)
        ImageDraw.Draw(im).text((4, 4), ch, fill=255, font=font)
        a = np.asarray(im)
        if int((a > 128).sum()) < 10:
            return False
        seen.add(a.tobytes())
    return len(seen) == 10


@functools.lru_cache(maxsize=1)
def digit_fonts() -> tuple[str, ...]:
    """Paths of the bundled fonts that really render the ten digits, in a fixed order."""
    root = font_dir()
    paths = [os.path.join(root, f) for f in FONT_FILES]
    fonts = tuple(p for p in paths if os.path.isfile(p) and _renders_digits(p))
    if not fonts:  # pragma: no cover - matplotlib without its fonts
        raise RuntimeError(f"no usable digit fonts found in {root}")
    return fonts


def font_path(name: str) -> str:
    """Path of one bundled font file by name."""
    return os.path.join(font_dir(), name)


def render_mask(
    font_file: str,
    font_size: int,
    digit: str,
    *,
    angle: float = 0.0,
    offset: tuple[float, float] = (0.0, 0.0),
    left: str = "",
    right: str = "",
    gap: float = 4.0,
    size: int = SIZE * SCALE,
) -> np.ndarray:
    """Coverage mask in [0, 1], (size, size), of `digit` whose ink is centred at centre + offset.

    `left`/`right` neighbours sit on the same baseline, `gap` pixels from the central digit's ink;
    the whole line is rotated by `angle` degrees about the central digit.
    """
    font = _font(font_file, int(font_size))
    canvas = size * 2
    im = Image.new("L", (canvas, canvas), 0)
    draw = ImageDraw.Draw(im)
    cx, cy = canvas / 2 + offset[0], canvas / 2 + offset[1]
    l, t, r, b = font.getbbox(digit)
    ox, oy = cx - (l + r) / 2, cy - (t + b) / 2
    draw.text((ox, oy), digit, fill=255, font=font)
    if left:
        ll, _, lr, _ = font.getbbox(left)
        draw.text((ox + l - gap - lr, oy), left, fill=255, font=font)
    if right:
        rl, _, _, _ = font.getbbox(right)
        draw.text((ox + r + gap - rl, oy), right, fill=255, font=font)
    q = (canvas - size) / 2
    if angle:  # rotate about the digit (as Image.rotate) and crop, in one affine resampling
        a = -math.radians(angle)
        m0, m1, m3, m4 = math.cos(a), math.sin(a), -math.sin(a), math.cos(a)
        c = m0 * (q - cx) + m1 * (q - cy) + cx
        f = m3 * (q - cx) + m4 * (q - cy) + cy
        im = im.transform((size, size), Image.AFFINE, (m0, m1, c, m3, m4, f), Image.BILINEAR)
    else:
        im = im.crop((int(q), int(q), int(q) + size, int(q) + size))
    return np.asarray(im, dtype=np.float32) / 255.0


def _luminance(rgb: np.ndarray) -> float:
    return float(
        rgb[..., 0].mean() * 0.299 + rgb[..., 1].mean() * 0.587 + rgb[..., 2].mean() * 0.114
    )


def _contrasting_colour(rng: np.random.Generator, bg_lum: float, min_diff: float) -> np.ndarray:
    """A random colour whose luminance differs from `bg_lum` by at least `min_diff`."""
    c = rng.uniform(0, 255, size=3)
    lum = _luminance(c)
    if bg_lum >= 128:  # dark digit
        target = rng.uniform(0, bg_lum - min_diff)
        if lum > target:
            c = c * (target / max(lum, 1e-6))
    else:  # bright digit
        target = rng.uniform(bg_lum + min_diff, 255)
        if lum < target:
            c = 255 - (255 - c) * ((255 - target) / max(255 - lum, 1e-6))
    return np.clip(c, 0, 255)


def render_sample(rng: np.random.Generator, label: int, fonts: tuple[str, ...]) -> np.ndarray:
    """One 32x32 RGB uint8 printed-digit image of `label`."""
    work = SIZE * SCALE
    font_file = fonts[int(rng.integers(len(fonts)))]
    font_size = int(rng.integers(40, 63))
    angle = float(rng.uniform(-10, 10))
    offset = (float(rng.uniform(-4, 4)), float(rng.uniform(-4, 4)))
    left = DIGITS[int(rng.integers(10))] if rng.random() < 0.7 else ""
    right = DIGITS[int(rng.integers(10))] if rng.random() < 0.7 else ""
    gap = float(rng.uniform(2, 10))
    mask = render_mask(
        font_file,
        font_size,
        DIGITS[label],
        angle=angle,
        offset=offset,
        left=left,
        right=right,
        gap=gap,
        size=work,
    )
    bg = random_crop(rng, work, 40, 220).astype(np.float32)
    mean = bg.reshape(-1, 3).mean(0)
    bg = mean + (bg - mean) * rng.uniform(0.15, 0.6)
    fg = _contrasting_colour(rng, _luminance(bg), 90.0)
    out = bg * (1 - mask[..., None]) + fg * mask[..., None]
    out = out.reshape(SIZE, SCALE, SIZE, SCALE, 3).mean(axis=(1, 3))  # box reduction
    out += rng.normal(0, rng.uniform(0, 4), size=out.shape)
    return np.clip(out, 0, 255).round().astype(np.uint8)


def build() -> dict[str, np.ndarray]:
    """6,000 balanced images, stratified 5,000/1,000; images (N, 32, 32, 3) uint8."""
    rng = np.random.default_rng(SEED)
    fonts = digit_fonts()
    labels = rng.permutation(np.arange(NUM_IMAGES) % 10)
    x = np.stack([render_sample(rng, int(c), fonts) for c in labels])
    return split_arrays(x, labels, TEST_FRACTION, SEED)
