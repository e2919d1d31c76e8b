"""CDRD's networks (Liu, Yeh, Wang, CVPR 2018; the reference code's digit networks): CoGAN /
DCGAN-style generator layers from [z, l], LeNet-like discriminator and encoder layers, and the
shared high-level modules (D_C with its real/fake and attribute heads, E-CDRD's E_C). Which
layers are shared between the domains is decided in :mod:`transynth.models.cdrd`."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def generator_plan(image_size: int) -> tuple[int, int]:
    """(start side, number of 2x upsamplings) of G for `image_size`: 32 -> (4, 3), 28 -> (7, 2)."""
    side, ups = image_size, 0
    while side % 2 == 0 and side > 7:
        side //= 2
        ups += 1
    if ups < 1 or side < 3:
        raise ValueError(
            f"image_size {image_size} does not suit the CDRD generator; accepted: a size of the "
            "form s * 2^k with 3 <= s <= 7 and k >= 1 (e.g. 16, 28, 32, 64)"
        )
    return side, ups


class _Project(nn.Module):
    """[z, l] -> a (ch, side, side) map: CoGAN/DCGAN's first generator layer."""

    def __init__(self, in_dim: int, ch: int, side: int, norm: bool) -> None:
        super().__init__()
        self.ch, self.side = ch, side
        self.fc = nn.Linear(in_dim, ch * side * side, bias=not norm)
        self.post = nn.Sequential(nn.BatchNorm2d(ch) if norm else nn.Identity(), nn.LeakyReLU(0.2))

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return self.post(self.fc(v).view(-1, self.ch, self.side, self.side))


def generator_layers(
    in_dim: int, out_channels: int, image_size: int, ngf: int, norm: bool
) -> list[nn.Module]:
    """The G layers in order: a projection, then 2x transposed convs; the last ends in tanh."""
    side, ups = generator_plan(image_size)
    widths = [ngf * 2 ** (ups - 1 - i) for i in range(ups)]  # e.g. 512, 256, 128 at 32 px
    layers: list[nn.Module] = [_Project(in_dim, widths[0], side, norm)]
    for i in range(ups):
        last = i == ups - 1
        cout = out_channels if last else widths[i + 1]
        conv = nn.ConvTranspose2d(widths[i], cout, 4, 2, 1, bias=last or not norm)
        if last:
            layers.append(nn.Sequential(conv, nn.Tanh()))
        else:
            layers.append(
                nn.Sequential(
                    conv, nn.BatchNorm2d(cout) if norm else nn.Identity(), nn.LeakyReLU(0.2)
                )
            )
    return layers


class _AsMap(nn.Module):
    """[z, l] (N, D) -> a (N, D, 1, 1) map, as the reference code reshapes its input."""

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return v.view(v.shape[0], -1, 1, 1)


#: The reference code's 28 px generator (ycliu93/CDRD ``models/nets.py``): (kernel, stride,
#: output padding, width as a multiple of ngf) of its up-convolutions 1 -> 2 -> 5 -> 12 -> 25,
#: then a 4x4 stride-1 up-convolution to 28 with tanh.
REFERENCE_UPCONVS = ((2, 2, 0, 8), (3, 2, 0, 4), (3, 2, 1, 2), (3, 2, 0, 1))


def reference_generator_layers(
    in_dim: int, out_channels: int, image_size: int, ngf: int, norm: bool
) -> list[nn.Module]:
    """The reference code's G layers at 28 px: four 2x up-convolutions from the 1x1 code
    (widths 8, 4, 2, 1 x ngf: 1024-512-256-128 at ngf 128), LeakyReLU 0.2 (batch norm first when
    `norm`; the reference has none), then a 4x4 stride-1 up-convolution and tanh."""
    if image_size != 28:
        raise ValueError(
            f"model.g_layout=reference builds the reference code's 28 px generator, not "
            f"{image_size} px; set data.image_size=28 or model.g_layout=dcgan"
        )
    layers: list[nn.Module] = []
    cin = in_dim
    for i, (k, stride, out_pad, mult) in enumerate(REFERENCE_UPCONVS):
        cout = mult * ngf
        conv = nn.ConvTranspose2d(cin, cout, k, stride, 0, out_pad, bias=not norm)
        block = [conv, nn.BatchNorm2d(cout) if norm else nn.Identity(), nn.LeakyReLU(0.2)]
        layers.append(nn.Sequential(_AsMap(), *block) if i == 0 else nn.Sequential(*block))
        cin = cout
    layers.append(nn.Sequential(nn.ConvTranspose2d(cin, out_channels, 4, 1), nn.Tanh()))
    return layers


def lenet_layers(
    in_channels: int, image_size: int, widths: Sequence[int], emb_dim: int, dropout: float
) -> list[nn.Module]:
    """The D (and E-CDRD encoder) layers: conv5 | pool-conv5 | pool-conv(to 1x1) | FC."""
    side = (image_size - 4) // 2 - 4
    if image_size < 16 or side < 2:
        raise ValueError(
            f"image_size {image_size} is too small for the CDRD discriminator; accepted: >= 16"
        )
    w1, w2, w3 = widths
    return [
        nn.Sequential(nn.Conv2d(in_channels, w1, 5), nn.LeakyReLU(0.2)),
        nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(w1, w2, 5), nn.LeakyReLU(0.2)),
        nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(w2, w3, side // 2), nn.LeakyReLU(0.2)),
        nn.Sequential(nn.Flatten(), nn.Linear(w3, emb_dim), nn.LeakyReLU(0.2), nn.Dropout(dropout)),
    ]


class SharedTrunk(nn.Module):
    """D_C: the shared high-level layers of D and its two heads (real/fake, attribute)."""

    def __init__(self, layers: list[nn.Module], emb_dim: int, num_classes: int) -> None:
        super().__init__()
        self.body = nn.Sequential(*layers)
        self.adv = nn.Linear(emb_dim, 1)
        self.cls = nn.Linear(emb_dim, num_classes)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(real/fake logit (N,), attribute logits (N, K), features (N, emb_dim))."""
        emb = self.body(h)
        return self.adv(emb).squeeze(1), self.cls(emb), emb


class LatentHead(nn.Module):
    """E_C: shared high-level encoder layers ending in (mu, logvar) of q(z | x)."""

    def __init__(self, layers: list[nn.Module], emb_dim: int, z_dim: int) -> None:
        super().__init__()
        self.body = nn.Sequential(*layers)
        self.out = nn.Linear(emb_dim, 2 * z_dim)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.out(self.body(h)).float().chunk(2, dim=1)
        return mu, logvar.clamp(-10.0, 10.0)  # clamped: exp(logvar) stays finite under bf16


class SourceOnlyClassifier(nn.Module):
    """The baseline: D_S + D_C's architecture with the attribute head only, source labels only."""

    def __init__(self, layers: list[nn.Module], emb_dim: int, num_classes: int) -> None:
        super().__init__()
        self.body = nn.Sequential(*layers)
        self.cls = nn.Linear(emb_dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cls(self.body(x))
