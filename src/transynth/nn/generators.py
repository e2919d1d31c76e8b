"""Image-to-image generators: the ResNet generator (Johnson et al.; CycleGAN) and the U-Net
(Ronneberger et al.; pix2pix)."""

from __future__ import annotations

import torch
from torch import nn

from transynth.nn.norm import norm_layer, uses_bias


class ResidualBlock(nn.Module):
    """conv3-norm-ReLU-conv3-norm with reflection padding, plus the identity."""

    def __init__(self, channels: int, norm: str, dropout: float = 0.0) -> None:
        super().__init__()
        bias = uses_bias(norm)
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            norm_layer(norm, channels),
            nn.ReLU(True),
        ]
        if dropout:
            layers.append(nn.Dropout(dropout))
        layers += [
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            norm_layer(norm, channels),
        ]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """CycleGAN's generator: c7s1-ngf, d(2ngf), d(4ngf), n_blocks x R(4ngf), u(2ngf), u(ngf),
    c7s1-out, tanh (Zhu et al. 2017, appendix 7.2; 6 blocks at 128 px, 9 at 256 px).

    Fully convolutional: any input whose height and width are multiples of 4 is accepted.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        ngf: int = 64,
        n_blocks: int = 9,
        norm: str = "instance",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        bias = uses_bias(norm)
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_channels, ngf, 7, bias=bias),
            norm_layer(norm, ngf),
            nn.ReLU(True),
        ]
        ch = ngf
        for _ in range(2):  # two stride-2 downsamplings
            layers += [
                nn.Conv2d(ch, ch * 2, 3, stride=2, padding=1, bias=bias),
                norm_layer(norm, ch * 2),
                nn.ReLU(True),
            ]
            ch *= 2
        layers += [ResidualBlock(ch, norm, dropout) for _ in range(n_blocks)]
        for _ in range(2):  # two fractionally strided upsamplings
            layers += [
                nn.ConvTranspose2d(
                    ch, ch // 2, 3, stride=2, padding=1, output_padding=1, bias=bias
                ),
                norm_layer(norm, ch // 2),
                nn.ReLU(True),
            ]
            ch //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ch, out_channels, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)
        self.size_multiple = 4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class UnetGenerator(nn.Module):
    """pix2pix's U-Net: an encoder of `num_downs` stride-2 4x4 convs (C64-C128-C256-C512-...,
    capped at 8*ngf; LeakyReLU 0.2; no norm on the first) and a mirrored decoder of stride-2
    transposed convs (ReLU) whose every layer is concatenated with its mirrored encoder layer.

    Dropout 0.5 follows the decoder layers of the `n_dropout` innermost levels: the paper's
    "CD512" blocks and the only source of noise in pix2pix (Isola et al. 2017, Sec. 6.1.1). The
    bottleneck is 1x1 when the input side is 2**num_downs (8 downs for 256 px). Inputs must have
    sides that are multiples of 2**num_downs.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        num_downs: int = 8,
        ngf: int = 64,
        norm: str = "batch",
        dropout: float = 0.5,
        n_dropout: int = 3,
    ) -> None:
        super().__init__()
        if num_downs < 2:
            raise ValueError(f"U-Net needs num_downs >= 2, got {num_downs}")
        bias = uses_bias(norm)
        widths = [min(ngf * 2**i, ngf * 8) for i in range(num_downs)]
        self.down = nn.ModuleList()
        prev = in_channels
        for i, w in enumerate(widths):
            innermost = i == num_downs - 1
            layers: list[nn.Module] = [] if i == 0 else [nn.LeakyReLU(0.2, True)]
            layers.append(nn.Conv2d(prev, w, 4, stride=2, padding=1, bias=bias))
            # no norm on the first layer (paper) nor on the innermost (its output may be 1x1)
            if 0 < i and not innermost:
                layers.append(norm_layer(norm, w))
            self.down.append(nn.Sequential(*layers))
            prev = w
        self.up = nn.ModuleList()
        for i in reversed(range(num_downs)):
            innermost, outermost = i == num_downs - 1, i == 0
            in_ch = widths[i] if innermost else widths[i] * 2  # concatenated skip
            out_ch = out_channels if outermost else widths[i - 1]
            layers = [
                nn.ReLU(True),
                nn.ConvTranspose2d(in_ch, out_ch, 4, stride=2, padding=1, bias=bias or outermost),
            ]
            if outermost:
                layers.append(nn.Tanh())
            else:
                layers.append(norm_layer(norm, out_ch))
                if dropout and num_downs - 1 - i < n_dropout:
                    layers.append(nn.Dropout(dropout))
            self.up.append(nn.Sequential(*layers))
        self.size_multiple = 2**num_downs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for layer in self.down:
            x = layer(x)
            skips.append(x)
        skips.pop()  # the innermost output feeds the decoder directly
        for layer in self.up:
            x = layer(x)
            if skips:
                x = torch.cat([skips.pop(), x], 1)
        return x
