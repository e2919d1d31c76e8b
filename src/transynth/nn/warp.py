"""A learned affine warp in front of a generator (a spatial transformer, Jaderberg et al.,
"Spatial Transformer Networks", NeurIPS 2015).

Why: the digit domains differ mostly in framing (docs/BENCHMARKS.md, "How far apart MNIST and the
UCI digits are": re-framing by hand takes MNIST -> UCI from 49% to 80% and UCI -> MNIST from 28% to
90%), and a convolutional generator rescales a whole digit poorly: each output pixel must be
rebuilt from distant inputs. A per-image affine resampling does that in one differentiable step
and leaves the convolutional generator the local work (blur, stroke, style).

Not part of any translation paper: an option (``model.warp=affine``) of the unpaired translators
(CycleGAN, DualGAN, DiscoGAN), whose configs take its keys from :class:`WarpOptions`; off by
default. The warp starts as the identity (its output layer is zero) and each of the six affine
coefficients may move at most ``max_offset`` from the identity's (tanh-bounded), so no image can
collapse to a point or flip at the start of training.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

WARPS = ("none", "affine")
WARP_PLACES = ("input", "output")

_IDENTITY = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


class AffineWarp(nn.Module):
    """Predicts one affine transform per image from the image and resamples it (bilinear).

    Pixels that come from outside the frame take the image's background, estimated per image and
    channel as the mean of its four corner pixels (for digits: the blank page; replicating the
    border instead would smear strokes that touch the frame, as UCI digits do).
    """

    def __init__(
        self, in_channels: int, hidden: int = 64, max_offset: float = 0.5, gain: float = 1.0
    ) -> None:
        super().__init__()
        if max_offset <= 0 or gain <= 0:
            raise ValueError(f"max_offset and gain must be > 0, got {max_offset}, {gain}")
        self.max_offset = max_offset
        # Multiplies the output layer's raw output: with Adam, whose steps do not depend on the
        # gradient's scale, this is that layer's learning rate times `gain`.
        self.gain = gain
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 16, 5, stride=2, padding=2),
            nn.ReLU(True),
            nn.Conv2d(16, 32, 5, stride=2, padding=2),
            nn.ReLU(True),
            nn.AdaptiveAvgPool2d(4),
            nn.Flatten(),
            nn.Linear(32 * 16, hidden),
            nn.ReLU(True),
        )
        # A bare parameter rather than nn.Linear so that the methods' weight initialisation
        # (which re-draws every Linear) leaves it at zero: the warp starts as the identity.
        self.head_weight = nn.Parameter(torch.zeros(6, hidden))
        self.head_bias = nn.Parameter(torch.zeros(6))
        self.register_buffer("identity", torch.tensor(_IDENTITY), persistent=False)

    def theta(self, x: torch.Tensor) -> torch.Tensor:
        """The (N, 2, 3) affine matrices, output coordinates -> input coordinates."""
        raw = self.gain * F.linear(self.features(x), self.head_weight, self.head_bias)
        offset = self.max_offset * torch.tanh(raw.float())
        return (self.identity + offset).view(-1, 2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.resample(x, self.theta(x))

    @staticmethod
    def resample(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        """`x` resampled through `theta` (N, 2, 3), the outside filled with the background."""
        background = (x[..., 0, 0] + x[..., 0, -1] + x[..., -1, 0] + x[..., -1, -1]) / 4
        background = background[..., None, None]
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        # Sampling x - background with zero padding fills the outside with the background.
        moved = F.grid_sample(
            (x - background).float(), grid, padding_mode="zeros", align_corners=False
        )
        return moved.to(x.dtype) + background


class WarpedGenerator(nn.Module):
    """The warp, predicted from the input, applied before the generator (``at="input"``:
    ``generator(warp(x))``, the generator translates re-framed images) or after it
    (``at="output"``: the generator's output is re-framed, so the discriminator's gradient
    reaches the warp without crossing the generator)."""

    def __init__(self, warp: AffineWarp, generator: nn.Module, at: str = "input") -> None:
        super().__init__()
        if at not in WARP_PLACES:
            raise ValueError(f"at must be one of {' | '.join(WARP_PLACES)}, got {at!r}")
        self.warp = warp
        self.generator = generator
        self.at = at
        self.size_multiple = getattr(generator, "size_multiple", 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.at == "input":
            return self.generator(self.warp(x))
        return self.warp.resample(self.generator(x), self.warp.theta(x))


def maybe_warped(
    generator: nn.Module,
    in_channels: int,
    warp: str,
    max_offset: float = 0.5,
    gain: float = 1.0,
    at: str = "input",
) -> nn.Module:
    """`generator` behind an :class:`AffineWarp` when ``warp == "affine"``, else unchanged."""
    if warp not in WARPS:
        raise ValueError(f"warp must be one of {' | '.join(WARPS)}, got {warp!r}")
    if warp == "none":
        return generator
    warp_net = AffineWarp(in_channels, max_offset=max_offset, gain=gain)
    return WarpedGenerator(warp_net, generator, at)


@dataclass(frozen=True)
class WarpOptions:
    """The ``model.warp*`` keys, shared by the configs of the translators that offer the warp."""

    warp: str = "none"  # none | affine: learned per-image re-framing before G (not the papers)
    warp_max_offset: float = 0.5  # how far each affine coefficient may move from the identity
    warp_gain: float = 1.0  # the warp's output layer learns this many times faster than G
    warp_at: str = "input"  # input | output: warp G's input or G's output

    def check_warp(self, check: Callable[[bool, str, Any, str], None]) -> None:
        """Validate the warp keys with `check(ok, key, value, accepted)`, the config's checker
        (it raises the config error; passed in, since nn does not import the config layer)."""
        check(self.warp in WARPS, "model.warp", self.warp, " | ".join(WARPS))
        check(self.warp_max_offset > 0, "model.warp_max_offset", self.warp_max_offset, "> 0")
        check(self.warp_gain > 0, "model.warp_gain", self.warp_gain, "> 0")
        check(self.warp_at in WARP_PLACES, "model.warp_at", self.warp_at, "input | output")

    def warped(self, generator: nn.Module, in_channels: int) -> nn.Module:
        """`generator` behind the configured warp (unchanged with ``warp: none``)."""
        return maybe_warped(
            generator, in_channels, self.warp, self.warp_max_offset, self.warp_gain, self.warp_at
        )
