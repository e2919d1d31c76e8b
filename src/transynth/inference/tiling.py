"""Tiled translation: images of any size through a generator, one tile at a time.

The image is cut into tiles of `tile` x `tile` pixels that overlap by `overlap` pixels. Each tile
is translated on its own and the results are blended with a window that ramps smoothly (a raised
cosine) across the overlap, so neighbouring tiles fade into each other and no seam shows. The
window is 1 where only one tile covers a pixel, including the image border.

Networks with instance normalisation see the statistics of the whole image in every tile
(:mod:`transynth.inference.norm_stats`), not each tile's own.

Tiles are cut at the trained scale by default, as `Method.translate` runs a whole image: the
image is first resized so that its shorter side is the trained ``image_size``
(:mod:`transynth.models.scale`), tiled, translated and blended there, and the result resized
back to the input's size, so a tiled translation is the whole-image one made in bounded memory
(the tile side counts pixels of the rescaled image). ``native=True`` cuts the tiles from the
image at its own resolution (a fully convolutional generator on a large photo, as before).

Memory is bounded by the tile size: the network only ever sees one tile, and the float32 blend
buffer holds one band of tile rows (tile x width), not the whole image. Only the uint8 input and
output images are held whole.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from PIL import Image

from transynth.data.imageio import convert_image, image_to_tensor
from transynth.data.scale import resize_image, to_trained_scale
from transynth.inference.norm_stats import REFERENCE_SIDE, image_statistics, reference_image

STATISTICS = ("image", "tile")


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of `tile` pixels covering `length` pixels, consecutive tiles
    overlapping by at least `overlap` (the last tile is moved back to end at the edge)."""
    if length <= tile:
        return [0]
    stride = tile - overlap
    count = math.ceil((length - tile) / stride) + 1
    starts = [i * stride for i in range(count - 1)]
    return [*starts, length - tile]


def _ramp(n: int) -> torch.Tensor:
    """n values rising smoothly from near 0 to near 1 (raised cosine at pixel centres)."""
    t = (torch.arange(n, dtype=torch.float32) + 0.5) / n
    return 0.5 - 0.5 * torch.cos(math.pi * t)


def blend_window(size: int, overlap: int, ramp_start: bool, ramp_end: bool) -> torch.Tensor:
    """1-D weights of one tile along one axis: ramps over `overlap` pixels on the sides that
    have a neighbouring tile, 1 elsewhere (always > 0, so every pixel has weight)."""
    w = torch.ones(size)
    n = min(overlap, size)
    if n > 0 and ramp_start:
        w[:n] = torch.minimum(w[:n], _ramp(n))
    if n > 0 and ramp_end:
        w[size - n :] = torch.minimum(w[size - n :], _ramp(n).flip(0))
    return w


def check_tiling(tile: int, overlap: int) -> None:
    """ValueError naming the value unless 1 <= tile and 0 <= overlap <= tile // 2."""
    if tile < 1:
        raise ValueError(f"tile {tile}: the tile side must be a positive number of pixels")
    if overlap < 0 or 2 * overlap > tile:
        raise ValueError(
            f"overlap {overlap}: must be between 0 and half the tile ({tile // 2} for tile {tile})"
        )


def _to_uint8(y: torch.Tensor) -> np.ndarray:
    """(C, h, w) in [-1, 1] -> (h, w, C) uint8, as tensor_to_image rounds."""
    return ((y.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()


def tiled_map(
    source: np.ndarray,
    translate: Callable[[torch.Tensor], torch.Tensor],
    tile: int,
    overlap: int,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Apply `translate` ((1, C, h, w) in [-1, 1] -> (1, C', h, w)) tile by tile to a uint8
    (H, W, C) image and blend the tiles; returns the uint8 (H, W, C') result.

    `progress(done, total)` is called after each tile.
    """
    check_tiling(tile, overlap)
    height, width = source.shape[:2]
    ys, xs = tile_starts(height, tile, overlap), tile_starts(width, tile, overlap)
    th, tw = min(tile, height), min(tile, width)
    wx = [blend_window(tw, overlap, i > 0, i < len(xs) - 1) for i in range(len(xs))]
    out: np.ndarray | None = None
    carry: tuple[torch.Tensor, torch.Tensor] | None = None  # (acc, weight) of rows still open
    done, total = 0, len(ys) * len(xs)
    for r, y0 in enumerate(ys):
        wy = blend_window(th, overlap, r > 0, r < len(ys) - 1)
        acc = weight = None
        for c, x0 in enumerate(xs):
            piece = torch.from_numpy(np.ascontiguousarray(source[y0 : y0 + th, x0 : x0 + tw]))
            x = piece.permute(2, 0, 1).float().div_(127.5).sub_(1.0)[None]
            y = translate(x)[0].float().cpu()
            if acc is None:  # the band of this tile row, plus what the previous row left open
                acc = torch.zeros(y.shape[0], th, width)
                weight = torch.zeros(1, th, width)
                if carry is not None:
                    rows = carry[0].shape[1]
                    acc[:, :rows] += carry[0]
                    weight[:, :rows] += carry[1]
            if out is None:
                out = np.empty((height, width, y.shape[0]), dtype=np.uint8)
            w = wy[:, None] * wx[c][None, :]
            acc[:, :, x0 : x0 + tw] += y * w
            weight[:, :, x0 : x0 + tw] += w
            done += 1
            if progress is not None:
                progress(done, total)
        # rows above the next tile row get no more tiles: write them out, keep the rest open
        final = (ys[r + 1] - y0) if r + 1 < len(ys) else th
        out[y0 : y0 + final] = _to_uint8(acc[:, :final] / weight[:, :final])
        carry = (acc[:, final:], weight[:, final:]) if final < th else None
    assert out is not None
    return out


def translate_tiled(
    model: Any,
    image: Image.Image,
    direction: str = "AtoB",
    *,
    tile: int = 512,
    overlap: int = 32,
    progress: Callable[[int, int], None] | None = None,
    statistics: str = "image",
    reference_side: int = REFERENCE_SIDE,
    native: bool = False,
    **condition: Any,
) -> Image.Image:
    """Translate a PIL image of any size in overlapping tiles (see the module docstring).

    Args:
        model: a loaded method (`transynth.load`).
        image: the input image.
        direction: as in `Method.translate` (multi-domain methods: the target's name).
        tile: side of the square tiles in pixels.
        overlap: pixels shared by neighbouring tiles, at most tile // 2.
        progress: called as progress(tiles done, tiles in all) after each tile.
        statistics: "image": instance-norm layers use the statistics of the whole image
            (measured on it downscaled to `reference_side` when larger: exact up to that
            side, approximate beyond); "tile": each tile's own.
        reference_side: the longest side the statistics are measured at (the network runs
            once on an image this large).
        native: tile the image at its own resolution instead of at the trained scale (refused
            for a generator with a fixed size).
        condition: the method's conditions, e.g. ``label=3``.

    Returns:
        The translated image, the size of `image`, "RGB" or "L" as the target domain.
    """
    from transynth.models.scale import check_native

    check_tiling(tile, overlap)
    if statistics not in STATISTICS:
        raise ValueError(f"statistics={statistics!r}; accepted: {', '.join(STATISTICS)}")
    model.check_direction(direction)
    if native:
        check_native(model, direction)
    channels = model.source_channels(direction)
    size = image.size
    if not native:
        square = model.fixed_size_reason(direction) is not None
        image = to_trained_scale(image, model.image_size, square)
    converted = convert_image(image, "L" if channels == 1 else "RGB")
    source = np.asarray(converted, dtype=np.uint8)
    if source.ndim == 2:
        source = source[:, :, None]

    def run(x: torch.Tensor) -> torch.Tensor:
        return model.translate(x, direction=direction, **condition)

    if statistics == "tile":
        result = tiled_map(source, run, tile, overlap, progress)
    else:
        reference = image_to_tensor(reference_image(converted, reference_side), channels)[None]
        with image_statistics(model, run, reference) as frozen:
            result = tiled_map(source, frozen, tile, overlap, progress)
    out = Image.fromarray(result[:, :, 0] if result.shape[2] == 1 else result)
    return resize_image(out, size)
