"""UNIT's networks (Liu et al., NeurIPS 2017; the official image-translation and
domain-adaptation code): encoder and generator layers, the discriminators' private layers and
shared trunk with the real/fake and class heads, and the source-only baseline classifier.

Built from a :class:`UNITNetShape` of plain sizes (the method fills it from its config);
``arch: digits`` takes the official DA code's 32x32 digit networks from
:mod:`transynth.nn.coupled_digits`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from transynth.nn.coupled_digits import (
    DigitHead,
    DigitTrunk,
    digit_d_private,
    digit_decoder_layers,
    digit_encoder_layers,
)
from transynth.nn.generators import ResidualBlock
from transynth.nn.norm import norm_layer, uses_bias


@dataclass(frozen=True)
class UNITNetShape:
    """The sizes of UNIT's networks (the keys of the method's config with the same names)."""

    arch: str  # resnet | digits
    ngf: int
    n_down: int  # stride-2 convs after the c7s1 stem (transposed convs in G)
    n_res: int  # residual blocks in E and in G
    norm: str
    ndf: int
    d_layers: int  # stride-2 conv layers of each discriminator
    d_shared_layers: int  # the last of them shared by D_A and D_B
    dropout: float  # after each shared discriminator layer


def _conv_block(cin: int, cout: int, k: int, s: int, p: int, norm: str) -> list[nn.Module]:
    pad: list[nn.Module] = [nn.ReflectionPad2d(p)] if p else []
    return [
        *pad,
        nn.Conv2d(cin, cout, k, s, bias=uses_bias(norm)),
        norm_layer(norm, cout),
        nn.ReLU(True),
    ]


def encoder_layers(in_ch: int, c: UNITNetShape) -> list[nn.Module]:
    """E's layers in order: c7s1 stem, n_down stride-2 convs, n_res residual blocks."""
    layers = [nn.Sequential(*_conv_block(in_ch, c.ngf, 7, 1, 3, c.norm))]
    ch = c.ngf
    for _ in range(c.n_down):
        layers.append(nn.Sequential(*_conv_block(ch, ch * 2, 4, 2, 1, c.norm)))
        ch *= 2
    layers += [ResidualBlock(ch, c.norm) for _ in range(c.n_res)]
    return layers


def generator_layers(out_ch: int, c: UNITNetShape) -> list[nn.Module]:
    """G's layers in order: n_res residual blocks, n_down transposed convs, c7s1 + tanh."""
    ch = c.ngf * 2**c.n_down
    layers: list[nn.Module] = [ResidualBlock(ch, c.norm) for _ in range(c.n_res)]
    for _ in range(c.n_down):
        layers.append(
            nn.Sequential(
                nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=uses_bias(c.norm)),
                norm_layer(c.norm, ch // 2),
                nn.ReLU(True),
            )
        )
        ch //= 2
    layers.append(nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(ch, out_ch, 7), nn.Tanh()))
    return layers


def _d_layer(cin: int, cout: int, dropout: float) -> nn.Sequential:
    drop: list[nn.Module] = [nn.Dropout(dropout)] if dropout else []
    return nn.Sequential(nn.Conv2d(cin, cout, 4, 2, 1), nn.LeakyReLU(0.2, True), *drop)


def discriminator_layers(in_ch: int, c: UNITNetShape) -> list[nn.Sequential]:
    """D's stride-2 conv layers (LeakyReLU; dropout on the shared ones), widths ndf * 2^i."""
    layers, ch = [], in_ch
    for i in range(c.d_layers):
        out = c.ndf * 2 ** min(i, 3)
        shared = i >= c.d_layers - c.d_shared_layers
        layers.append(_d_layer(ch, out, c.dropout if shared else 0.0))
        ch = out
    return layers


def d_width(c: UNITNetShape) -> int:
    return c.ndf * 2 ** min(c.d_layers - 1, 3)


class ClassHead(nn.Module):
    """Digit-class logits from the trunk's top feature map (pooled to 2x2, then linear)."""

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.fc = nn.Linear(channels * 4, num_classes)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(h).flatten(1))


def encoder_of(in_ch: int, c: UNITNetShape) -> list[nn.Module]:
    """E's layers for the configured network family."""
    return digit_encoder_layers(in_ch, c.ngf) if c.arch == "digits" else encoder_layers(in_ch, c)


def generator_of(out_ch: int, c: UNITNetShape) -> list[nn.Module]:
    """G's layers for the configured network family."""
    if c.arch == "digits":
        return digit_decoder_layers(out_ch, c.ngf)
    return generator_layers(out_ch, c)


def d_private_of(in_ch: int, c: UNITNetShape) -> nn.Sequential:
    """A domain's private discriminator layers."""
    if c.arch == "digits":
        return digit_d_private(in_ch, c.ndf)
    return nn.Sequential(*discriminator_layers(in_ch, c)[: c.d_layers - c.d_shared_layers])


class SharedTrunk(nn.Module):
    """D's shared high-level layers with the real/fake head and (for adaptation) the class
    head."""

    def __init__(self, c: UNITNetShape, num_classes: int | None) -> None:
        super().__init__()
        self.trunk: nn.Module
        if c.arch == "digits":
            self.trunk = DigitTrunk(c.ndf)
            self.gan: nn.Module = DigitHead(self.trunk.width, 1)
            self.cls = DigitHead(self.trunk.width, num_classes) if num_classes else None
            return
        # Built for 1 input channel and sliced: only the layers after the private ones are used.
        layers = discriminator_layers(1, c)
        self.trunk = nn.Sequential(*layers[c.d_layers - c.d_shared_layers :])
        self.gan = nn.Conv2d(d_width(c), 1, 3, 1, 1)  # PatchGAN-style real/fake scores
        self.cls = ClassHead(d_width(c), num_classes) if num_classes else None


class SourceOnlyClassifier(nn.Module):
    """The source-only baseline: D_A's classification path (private layers + trunk + class
    head) as one network, trained on source labels only."""

    def __init__(self, in_ch: int, c: UNITNetShape, num_classes: int) -> None:
        super().__init__()
        if c.arch == "digits":
            self.body = nn.Sequential(digit_d_private(in_ch, c.ndf), DigitTrunk(c.ndf))
            self.cls: nn.Module = DigitHead(c.ndf * 8, num_classes)
            return
        self.body = nn.Sequential(*discriminator_layers(in_ch, c))
        self.cls = ClassHead(d_width(c), num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cls(self.body(x))
