"""Using a trained method on real images: tiled translation of any size, batch folders and
bounded decoding of untrusted image bytes (for `transynth translate` and `transynth serve`)."""

from transynth.inference.batch import BatchResult, output_suffix, plan_outputs, translate_files
from transynth.inference.images import DEFAULT_MAX_PIXELS, ImageRejected, decode_image
from transynth.inference.tiling import tile_starts, translate_tiled

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "BatchResult",
    "ImageRejected",
    "decode_image",
    "output_suffix",
    "plan_outputs",
    "tile_starts",
    "translate_files",
    "translate_tiled",
]
