"""DTN's networks (Taigman et al., ICLR 2017, the digit setting of Sec. 5.1): the feature
extractor f with its pre-training class head, the decoder g and the 3-way discriminator D, all for
a square power-of-two image size >= 8."""

from __future__ import annotations

import math

import torch
from torch import nn


def _levels(image_size: int) -> int:
    """Stride-2 stages between image_size and a 4x4 map (image_size a power of two >= 8)."""
    n = int(round(math.log2(image_size)))
    if 2**n != image_size or n < 3:
        raise ValueError(
            f"DTN needs a square power-of-two image size >= 8 (its f ends in a 1x1 code and its "
            f"g starts from one); got {image_size}. Use e.g. data.image_size=32"
        )
    return n - 2


class FeatureExtractor(nn.Module):
    """f: conv3-ReLU-maxpool stages down to 4x4, a 4x4 conv to the code (no norm layers, so that
    the frozen f computes the same function in train and eval mode), plus the class head used
    only while f is pre-trained."""

    def __init__(
        self, in_ch: int, width: int, feature_dim: int, num_classes: int, image_size: int
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        ch = in_ch
        for i in range(_levels(image_size)):
            out = width * 2 ** min(i, 2)
            layers += [nn.Conv2d(ch, out, 3, 1, 1), nn.ReLU(True), nn.MaxPool2d(2)]
            ch = out
        # The code is bounded by tanh (as in the common re-implementation): with an unbounded
        # code, alpha * L_CONST dominates g's objective and g learns adversarial noise that
        # moves f's code instead of drawing digits.
        layers += [nn.Conv2d(ch, feature_dim, 4), nn.Tanh()]
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(feature_dim, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)  # (N, feature_dim, 1, 1)


class Decoder(nn.Module):
    """g: a 4x4 transposed conv from the 1x1 code, then stride-2 transposed convs (BN, ReLU)
    up to the image, tanh."""

    def __init__(self, feature_dim: int, ngf: int, out_ch: int, image_size: int) -> None:
        super().__init__()
        n = _levels(image_size)
        ch = ngf * 2 ** min(n - 1, 3)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(feature_dim, ch, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ch),
            nn.ReLU(True),
        ]
        for i in range(n - 1):
            out = ngf * 2 ** min(n - 2 - i, 3)
            layers += [
                nn.ConvTranspose2d(ch, out, 4, 2, 1, bias=False),
                nn.BatchNorm2d(out),
                nn.ReLU(True),
            ]
            ch = out
        layers += [nn.ConvTranspose2d(ch, out_ch, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        return self.net(code)


class ThreeWayDiscriminator(nn.Module):
    """D: stride-2 convs (BN after the first, LeakyReLU) to 4x4, a 4x4 conv to 3 logits."""

    def __init__(self, in_ch: int, ndf: int, image_size: int, dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        ch = in_ch
        for i in range(_levels(image_size)):
            out = ndf * 2 ** min(i, 3)
            layers.append(nn.Conv2d(ch, out, 4, 2, 1, bias=i == 0))
            if i:
                layers.append(nn.BatchNorm2d(out))
            layers.append(nn.LeakyReLU(0.2, True))
            if dropout:
                layers.append(nn.Dropout(dropout))
            ch = out
        layers += [nn.Conv2d(ch, 3, 4), nn.Flatten()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
