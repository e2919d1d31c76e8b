"""Translation at the trained scale: an image resized to the side a generator was trained at.

A generator trained on 64 px images has learned strokes, textures and objects at that scale;
run on a 512 px photo at its full resolution it sees features 8x larger than any it was trained
on. So by default an input is resized so that its shorter side is the trained side (the aspect
kept; exactly side x side for a generator that needs a fixed size), translated, and the result
resized back to the input's size (bicubic both ways; Pillow's bicubic filters over the whole
footprint when it shrinks, so nothing aliases).
"""

from __future__ import annotations

from collections.abc import Callable

from PIL import Image


def trained_scale_size(width: int, height: int, side: int, square: bool = False) -> tuple[int, int]:
    """(width, height) of a `width` x `height` image at the trained scale `side`: the shorter
    side becomes `side` and the other follows the aspect, or (side, side) with `square`."""
    if width < 1 or height < 1 or side < 1:
        raise ValueError(f"image {width} x {height} at side {side}: sizes must be positive")
    if square:
        return side, side
    if width <= height:
        return side, max(1, round(height * side / width))
    return max(1, round(width * side / height)), side


def resize_image(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """`image` at `size` (width, height), bicubic; the image itself when it already is."""
    if image.size == tuple(size):
        return image
    return image.resize(tuple(size), Image.Resampling.BICUBIC)


def to_trained_scale(image: Image.Image, side: int, square: bool = False) -> Image.Image:
    """`image` resized to the trained scale (see :func:`trained_scale_size`)."""
    return resize_image(image, trained_scale_size(*image.size, side, square))


def at_trained_scale(
    image: Image.Image,
    side: int,
    square: bool,
    translate: Callable[[Image.Image], Image.Image],
) -> Image.Image:
    """`translate` applied to `image` at the trained scale, returned at the image's size."""
    return resize_image(translate(to_trained_scale(image, side, square)), image.size)
