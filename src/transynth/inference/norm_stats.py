"""Per-image normalisation statistics taken from the whole image and reused in every tile.

Instance normalisation (CycleGAN, DualGAN, StarGAN, ...) divides each channel by its own mean and
spread over the image it sees. Translated tile by tile, every tile would be normalised by its own
statistics and come out in a slightly different tone from the whole-image translation. Here the
statistics are measured once on the whole image (downscaled when it is large) and every tile is
normalised with them, so tiles agree with each other and with the whole-image result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from PIL import Image
from torch import nn

#: Reference images are downscaled to at most this many pixels on their longer side.
REFERENCE_SIDE = 1024


def per_image_norms(model: nn.Module) -> list[nn.Module]:
    """The layers that normalise with the statistics of each image: InstanceNorm2d, and
    GroupNorm with one channel per group (the same function)."""
    return [
        m
        for m in model.modules()
        if (isinstance(m, nn.InstanceNorm2d) and not m.track_running_stats)
        or (isinstance(m, nn.GroupNorm) and m.num_groups == m.num_channels)
    ]


def reference_image(image: Image.Image, side: int = REFERENCE_SIDE) -> Image.Image:
    """`image` downscaled (Pillow's antialiased bilinear) so its longer side is at most `side`."""
    scale = side / max(image.size)
    if scale >= 1:
        return image
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BILINEAR)


def _normalise(module: nn.Module, x: torch.Tensor, mean: torch.Tensor, var: torch.Tensor):
    y = (x - mean) / torch.sqrt(var + module.eps)
    weight = getattr(module, "weight", None)
    if weight is not None:
        y = y * weight.view(1, -1, 1, 1) + module.bias.view(1, -1, 1, 1)
    return y


@contextmanager
def image_statistics(
    model: nn.Module, run: Callable[[torch.Tensor], torch.Tensor], reference: torch.Tensor
) -> Iterator[Callable[[torch.Tensor], torch.Tensor]]:
    """Measure per-image normalisation statistics by running `run` on `reference` (1, C, H, W),
    then yield a version of `run` whose per-image norm layers use them on any input.

    Layers called several times in one forward pass keep one set of statistics per call.
    Without such layers the yielded function is `run` itself.
    """
    norms = per_image_norms(model)
    if not norms:
        yield run
        return
    stats: dict[nn.Module, list[tuple[torch.Tensor, torch.Tensor]]] = {m: [] for m in norms}
    calls = dict.fromkeys(norms, 0)
    recording = True

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor):
        x = inputs[0].float()
        if recording:
            var, mean = torch.var_mean(x, dim=(2, 3), keepdim=True, correction=0)
            stats[module].append((mean, var))
            return None
        mean, var = stats[module][calls[module]]
        calls[module] += 1
        return _normalise(module, x, mean, var).to(output.dtype)

    handles = [m.register_forward_hook(hook) for m in norms]
    try:
        run(reference)
        recording = False

        def frozen(x: torch.Tensor) -> torch.Tensor:
            for m in calls:
                calls[m] = 0
            return run(x)

        yield frozen
    finally:
        for handle in handles:
            handle.remove()
