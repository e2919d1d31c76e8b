"""PIL images through a method at the trained scale or at their native resolution.

The default of `Method.translate` on PIL images (and of `transynth translate` and `serve`): an
image is resized so that its shorter side is the trained ``image_size`` (aspect kept; exactly
``image_size`` x ``image_size`` for a generator with a fixed size, see
``Method.fixed_size_reason``), translated, and returned at its own size
(:mod:`transynth.data.scale`). ``native=True`` runs a fully convolutional generator at the
image's own resolution.
"""

from __future__ import annotations

from typing import Any

from transynth.data import image_to_tensor, tensor_to_image
from transynth.data.scale import at_trained_scale


def check_native(model: Any, direction: str) -> None:
    """ValueError unless `model`'s generator of `direction` can run at any resolution."""
    reason = model.fixed_size_reason(direction)
    if reason is not None:
        raise ValueError(
            f"{model.name} cannot translate at the input's native resolution: {reason}, so "
            f"it runs at {model.image_size} px whatever the input; translate without --native"
        )


def translate_images(
    model: Any, images: Any, direction: str, native: bool, condition: dict[str, Any]
) -> Any:
    """A PIL image or a list of them translated by `model` (see the module docstring)."""
    if native:
        check_native(model, direction)
    channels = model.source_channels(direction)
    square = model.fixed_size_reason(direction) is not None

    def run(image: Any) -> Any:
        x = image_to_tensor(image, channels)[None]
        return tensor_to_image(model._translate_any_size(x, direction, condition)[0])

    items = images if isinstance(images, (list, tuple)) else [images]
    outs = [
        run(im) if native else at_trained_scale(im, model.image_size, square, run) for im in items
    ]
    return outs if isinstance(images, (list, tuple)) else outs[0]
