"""The PatchGAN discriminator of pix2pix (Isola et al. 2017, Sec. 3.2.2 and 6.1.2)."""

from __future__ import annotations

import torch
from torch import nn

from transynth.nn.norm import norm_layer, uses_bias


class PatchDiscriminator(nn.Module):
    """C64-C128-C256-C512 then a 1-channel conv: each output logit judges one input patch.

    4x4 convs, LeakyReLU 0.2, no norm on the first layer; with n_layers=3 the receptive field of
    each output is 70x70 pixels (the paper's default), with 2 it is 34x34, with 1 it is 16x16.
    Returns raw scores (no sigmoid): the loss decides how to read them.
    """

    def __init__(self, in_channels: int, ndf: int = 64, n_layers: int = 3, norm: str = "batch"):
        super().__init__()
        bias = uses_bias(norm)
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, ndf, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2, True),
        ]
        ch = ndf
        for n in range(1, n_layers + 1):
            out = ndf * min(2**n, 8)
            stride = 2 if n < n_layers else 1  # the last C512 has stride 1
            layers += [
                nn.Conv2d(ch, out, 4, stride=stride, padding=1, bias=bias),
                norm_layer(norm, out),
                nn.LeakyReLU(0.2, True),
            ]
            ch = out
        layers.append(nn.Conv2d(ch, 1, 4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def receptive_field(n_layers: int) -> int:
    """Receptive field in pixels of one output of PatchDiscriminator(n_layers)."""
    # (kernel, stride) per conv, input to output; walk back from one output pixel.
    convs = [(4, 2)] + [(4, 2 if n < n_layers else 1) for n in range(1, n_layers + 1)] + [(4, 1)]
    field = 1
    for k, s in reversed(convs):
        field = (field - 1) * s + k
    return field
