"""Decoding untrusted image bytes with explicit bounds on size and pixel count."""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from transynth.data.imageio import convert_image

#: Default bound on decoded pixels (width x height) of an uploaded image: 64 megapixels.
DEFAULT_MAX_PIXELS = 64_000_000


class ImageRejected(ValueError):
    """An image refused before or while decoding; the message says why and what is accepted.
    `too_large` tells a refusal for its size from one for its content."""

    def __init__(self, message: str, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


def decode_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, name: str = "upload"):
    """Decode image bytes as "RGB" exactly as `transynth.data.load_image` reads a file (EXIF
    orientation applied, transparency on white), refusing more than `max_pixels` pixels.

    The pixel count is read from the header before anything is decoded, so a small file that
    claims a huge image is refused without allocating it; Pillow's own decompression-bomb check
    (``Image.MAX_IMAGE_PIXELS``, which `transynth serve` sets to the same bound) is fatal here,
    its warning included.

    Raises:
        ImageRejected: naming `name`, for empty data, data Pillow cannot read as an image, or
            an image over the pixel bound.
    """
    if not data:
        raise ImageRejected(f"{name}: the file is empty; upload a PNG, JPEG, BMP, TIFF or WebP")
    try:
        with warnings.catch_warnings():
            # Pillow warns above MAX_IMAGE_PIXELS and raises at twice it: make the warning fatal
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
                if width * height > max_pixels:
                    raise ImageRejected(_too_many(name, width, height, max_pixels), True)
                img.load()
                img = ImageOps.exif_transpose(img) or img
                return convert_image(img, "RGB")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        message = f"{name}: refused: over the limit of {max_pixels:,} pixels (Pillow: {err})"
        raise ImageRejected(message, True) from None
    except UnidentifiedImageError:
        raise ImageRejected(
            f"{name}: not an image file Pillow can read; upload a PNG, JPEG, BMP, TIFF or WebP"
        ) from None
    except (OSError, SyntaxError, ValueError) as err:
        if isinstance(err, ImageRejected):
            raise
        raise ImageRejected(f"{name}: a damaged or unsupported image ({err})") from None


def _too_many(name: str, width: int, height: int, max_pixels: int) -> str:
    return (
        f"{name}: {width} x {height} = {width * height:,} pixels is over the limit of "
        f"{max_pixels:,} pixels"
    )
