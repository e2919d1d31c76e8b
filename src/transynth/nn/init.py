"""Weight initialisation (the pix2pix/CycleGAN reference code's choices)."""

from __future__ import annotations

import torch
from torch import nn

INITS = ("normal", "xavier", "kaiming", "orthogonal")


def init_weights(net: nn.Module, kind: str = "normal", gain: float = 0.02) -> nn.Module:
    """Initialise conv and linear weights; norm scales ~ N(1, gain), biases 0.

    `normal` with gain 0.02 is the N(0, 0.02) init of the DCGAN, pix2pix and CycleGAN papers.
    """
    if kind not in INITS:
        raise ValueError(f"unknown init {kind!r}; accepted: {', '.join(INITS)}")

    def apply(m: nn.Module) -> None:
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            if kind == "normal":
                nn.init.normal_(m.weight, 0.0, gain)
            elif kind == "xavier":
                nn.init.xavier_normal_(m.weight, gain=gain)
            elif kind == "kaiming":
                nn.init.kaiming_normal_(m.weight, a=0, mode="fan_in")
            else:
                nn.init.orthogonal_(m.weight, gain=gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)

    net.apply(apply)
    return net


def _channel_dims(m: nn.Module) -> tuple[int, int] | None:
    """(input-channel dim, output-channel dim) of a layer's weight; None for other modules."""
    if isinstance(m, nn.ConvTranspose2d):
        return 0, 1
    if isinstance(m, (nn.Conv2d, nn.Linear)):
        return 1, 0
    return None


def _fit(value: torch.Tensor, shape: torch.Size, dim: int, is_input: bool) -> torch.Tensor:
    """`value` resized along `dim` between 1 channel and k: inputs are split (k gray copies sum
    to the same response) or summed, outputs replicated or averaged."""
    have, want = value.shape[dim], shape[dim]
    if have == want:
        return value
    if have == 1:
        return value.repeat_interleave(want, dim) / (want if is_input else 1)
    if want == 1:
        return value.sum(dim, keepdim=True) if is_input else value.mean(dim, keepdim=True)
    raise ValueError(f"cannot map {have} channels onto {want} (only 1 <-> k)")


@torch.no_grad()
def copy_init(dst: nn.Module, src: nn.Module) -> nn.Module:
    """Start `dst` as the same function as `src`, on gray images repeated over channels.

    The two networks must have the same layers; a layer may differ in its number of input
    channels (a domain-specific first layer for RGB instead of gray images) or output channels
    (a domain-specific last layer), one side having a single channel. Used to start the
    domain-specific layers of weight-sharing models (UNIT, CDRD) from one function.
    """
    pairs = list(zip(dst.modules(), src.modules(), strict=True))
    for md, ms in pairs:
        if type(md) is not type(ms):
            raise ValueError(f"copy_init: {type(md).__name__} vs {type(ms).__name__}")
        dims = _channel_dims(md)
        for name, target in [*md.named_parameters(recurse=False), *md.named_buffers(recurse=False)]:
            value = getattr(ms, name)
            if dims is not None and name == "weight":
                value = _fit(value, target.shape, dims[0], is_input=True)
                value = _fit(value, target.shape, dims[1], is_input=False)
            elif dims is not None and name == "bias":
                value = _fit(value, target.shape, 0, is_input=False)
            if value.shape != target.shape:
                raise ValueError(
                    f"copy_init: {name} of {type(md).__name__} has shape {tuple(target.shape)}, "
                    f"the source {tuple(value.shape)}"
                )
            target.copy_(value)
    return dst
