"""InfoGAN's MNIST networks (Chen et al. 2016, Appendix C, Table 1), shared by InfoGAN and AC-GAN.

Generator: FC ``fc``-BN-ReLU, FC ``s x s x 2 ngf``-BN-ReLU, 4x4 up-conv ``ngf`` stride 2 BN-ReLU,
4x4 up-conv to the image channels stride 2, tanh; ``s = image_size / 4`` (7 at 28 px, the paper's
7x7x128 with ngf 64 and fc 1024).

Discriminator trunk: 4x4 conv ``ndf`` stride 2 lReLU, 4x4 conv ``2 ndf`` stride 2 BN lReLU,
FC ``fc`` BN lReLU; heads (real/fake, InfoGAN's Q, AC-GAN's classifier) sit on its features.
"""

from __future__ import annotations

import torch
from torch import nn


def check_quarter_size(image_size: int, method: str) -> int:
    """The generator's start side (image_size / 4); ValueError when image_size is not a multiple
    of 4 (two stride-2 up-convolutions)."""
    if image_size % 4 or image_size < 8:
        raise ValueError(
            f"{method}: image_size {image_size} is not a multiple of 4 (>= 8); the networks "
            "upsample twice by 2 (e.g. 28 as in the paper, or 32)"
        )
    return image_size // 4


class MnistGenerator(nn.Module):
    """G(latent) -> images (N, C, H, W) in [-1, 1]; `in_dim` is noise + codes/labels."""

    def __init__(
        self, in_dim: int, out_channels: int, image_size: int, ngf: int = 64, fc: int = 1024
    ) -> None:
        super().__init__()
        self.start = check_quarter_size(image_size, "generator")
        self.ngf = ngf
        self.fc = nn.Sequential(
            nn.Linear(in_dim, fc),
            nn.BatchNorm1d(fc),
            nn.ReLU(True),
            nn.Linear(fc, 2 * ngf * self.start**2),
            nn.BatchNorm1d(2 * ngf * self.start**2),
            nn.ReLU(True),
        )
        self.conv = nn.Sequential(
            nn.ConvTranspose2d(2 * ngf, ngf, 4, 2, 1),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, out_channels, 4, 2, 1),
            nn.Tanh(),
        )

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        h = self.fc(latent).view(-1, 2 * self.ngf, self.start, self.start)
        return self.conv(h)


class MnistTrunk(nn.Module):
    """Shared discriminator layers: images -> features (N, fc).

    ``dropout`` > 0 adds dropout after each leaky ReLU (AC-GAN's discriminators use 0.5)."""

    def __init__(
        self,
        in_channels: int,
        image_size: int,
        ndf: int = 64,
        fc: int = 1024,
        leak: float = 0.1,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        side = check_quarter_size(image_size, "discriminator")

        def drop() -> list[nn.Module]:
            return [nn.Dropout(dropout)] if dropout > 0 else []

        self.conv = nn.Sequential(
            nn.Conv2d(in_channels, ndf, 4, 2, 1),
            nn.LeakyReLU(leak, True),
            *drop(),
            nn.Conv2d(ndf, 2 * ndf, 4, 2, 1),
            nn.BatchNorm2d(2 * ndf),
            nn.LeakyReLU(leak, True),
            *drop(),
        )
        self.fc = nn.Sequential(
            nn.Linear(2 * ndf * side * side, fc),
            nn.BatchNorm1d(fc),
            nn.LeakyReLU(leak, True),
            *drop(),
        )
        self.out_features = fc

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # reshape, not view: a channels_last input gives a non-contiguous conv output
        return self.fc(self.conv(x).reshape(x.shape[0], -1))


class InfoDiscriminator(nn.Module):
    """D: the shared trunk and the real/fake head; returns (scores (N,), trunk features)."""

    def __init__(self, trunk: MnistTrunk) -> None:
        super().__init__()
        self.trunk = trunk
        self.head = nn.Linear(trunk.out_features, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.trunk(x)
        return self.head(h).squeeze(1), h


class AuxClassifierDiscriminator(nn.Module):
    """D: shared trunk, a real/fake head and a class head; returns (scores (N,), logits (N, K))."""

    def __init__(self, trunk: MnistTrunk, num_classes: int) -> None:
        super().__init__()
        self.trunk = trunk
        self.source = nn.Linear(trunk.out_features, 1)
        self.classes = nn.Linear(trunk.out_features, num_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.trunk(x)
        return self.source(h).squeeze(1), self.classes(h)


def fake_count(real: int, fake_batch: int, method: str, *, phase: str) -> int:
    """Images to generate in a phase: ``fake_batch`` or as many as the real batch. Batch norm
    over D's FC features needs 2 images: the D phase refuses a real batch of 1, the G phase
    generates at least 2."""
    if phase == "d" and real < 2:
        raise ValueError(
            f"{method} needs at least 2 images per batch (batch norm over D's FC features); "
            "set train.batch_size >= 2"
        )
    return max(fake_batch or real, 2)
