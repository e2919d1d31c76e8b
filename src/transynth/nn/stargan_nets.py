"""StarGAN's networks (Choi et al., CVPR 2018, appendix Tables 4 and 5): the generator that
reads the target label tiled over the image, and the PatchGAN discriminator with its real/fake
(D_src) and label (D_cls) heads."""

from __future__ import annotations

import torch
from torch import nn


def _instance_norm(ch: int) -> nn.Module:
    # Instance norm with affine parameters, written as GroupNorm with one channel per group (the
    # same function): torch's eager channels_last InstanceNorm2d gives wrong gradients on CPU at
    # batch 1 (see trainer._check_channels_last); GroupNorm does not.
    return nn.GroupNorm(ch, ch, affine=True)


#: How G doubles the resolution: the paper's 4x4 stride-2 transposed convolution, or (opt-in, not
#: in the paper) nearest-neighbour upsampling followed by a 3x3 convolution, which cannot leave
#: the checkerboard pattern of overlapping transposed-convolution kernels (Odena, Dumoulin and
#: Olah, "Deconvolution and Checkerboard Artifacts", Distill 2016).
UPSAMPLING = ("deconv", "resize")


def upsampling(cin: int, cout: int, mode: str) -> list[nn.Module]:
    """Layers that double the resolution from `cin` to `cout` channels (see UPSAMPLING)."""
    if mode == "deconv":
        return [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False)]
    if mode == "resize":
        return [
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(cin, cout, 3, 1, 1, bias=False),
        ]
    raise ValueError(f"upsample {mode!r}: accepted {', '.join(UPSAMPLING)}")


class StarResidualBlock(nn.Module):
    """conv3-IN-ReLU-conv3-IN plus the identity (zero padding, as the reference code)."""

    def __init__(self, ch: int, dropout: float = 0.0) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.Conv2d(ch, ch, 3, 1, 1, bias=False),
            _instance_norm(ch),
            nn.ReLU(inplace=True),
        ]
        if dropout:
            layers.append(nn.Dropout(dropout))
        layers += [nn.Conv2d(ch, ch, 3, 1, 1, bias=False), _instance_norm(ch)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class StarGenerator(nn.Module):
    """G(x, c): the label c tiled over the image and concatenated to its channels."""

    size_multiple = 4

    def __init__(
        self,
        channels: int,
        c_dim: int,
        ngf: int = 64,
        n_blocks: int = 6,
        dropout: float = 0.0,
        upsample: str = "deconv",
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.Conv2d(channels + c_dim, ngf, 7, 1, 3, bias=False),
            _instance_norm(ngf),
            nn.ReLU(inplace=True),
        ]
        ch = ngf
        for _ in range(2):
            layers += [
                nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False),
                _instance_norm(ch * 2),
                nn.ReLU(inplace=True),
            ]
            ch *= 2
        layers += [StarResidualBlock(ch, dropout) for _ in range(n_blocks)]
        for _ in range(2):
            layers += [
                *upsampling(ch, ch // 2, upsample),
                _instance_norm(ch // 2),
                nn.ReLU(inplace=True),
            ]
            ch //= 2
        layers += [nn.Conv2d(ch, channels, 7, 1, 3, bias=False), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        tiled = c.to(x.dtype).view(c.shape[0], c.shape[1], 1, 1).expand(-1, -1, *x.shape[-2:])
        return self.model(torch.cat([x, tiled], dim=1))


class StarDiscriminator(nn.Module):
    """PatchGAN trunk with D_src (a score per patch) and D_cls (label logits) heads."""

    def __init__(
        self, channels: int, c_dim: int, image_size: int, ndf: int = 64, n_layers: int = 6
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(channels, ndf, 4, 2, 1), nn.LeakyReLU(0.01)]
        ch = ndf
        for _ in range(1, n_layers):
            layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1), nn.LeakyReLU(0.01)]
            ch *= 2
        self.trunk = nn.Sequential(*layers)
        self.src = nn.Conv2d(ch, 1, 3, 1, 1, bias=False)
        self.cls = nn.Conv2d(ch, c_dim, image_size // 2**n_layers, bias=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.trunk(x)
        return self.src(h), self.cls(h).flatten(1)
