"""The coupled 32x32 digit networks of UNIT's official domain-adaptation code.

Liu, Breuel, Kautz, NeurIPS 2017, Sec. 5 "Domain adaptation"; the official release trains its
digit experiments with ``CoVAE32x32`` (generator) and ``CoDis32x32`` (discriminator), not with
the residual image-translation networks:

- encoder, per image 32 -> 16 -> 8 -> 1: 5x5 stride-2 conv (ch), 5x5 stride-2 conv (2 ch),
  8x8 valid conv (4 ch), 1x1 conv (8 ch), then the latent mean by a 1x1 conv: the shared latent
  code is a VECTOR (8 ch x 1 x 1), so the decoder can re-frame a digit, which a spatial code of
  an image-translation network keeps in place;
- decoder 1 -> 4 -> 8 -> 16 -> 32: 4x4 transposed convs (8, 4, 2, 1 ch), then a 1x1 transposed
  conv and tanh; batch norm and LeakyReLU (slope 0.01) throughout both;
- discriminator, LeNet-like: 5x5 conv + ReLU + 2x2 max-pool blocks of ch, 2 ch, 4 ch, 8 ch
  (32 -> 2), a 2x2 conv to the real/fake score and a 2x2 conv to the class logits; dropout 0.1,
  0.3, 0.5, 0.5 after the blocks on the scoring and classification path, none on the path whose
  features the feature-consistency term compares.

Which layers are private follows the official code: the first encoder layer, the last two
decoder layers (the 16 -> 32 transposed conv and the output conv) and the first discriminator
block; everything in between is shared by both domains. Departures: the official layers are
batch norm without a learned scale plus a bias; here batch norm keeps its scale. The official
encoder also predicts a standard deviation; UNIT here keeps the paper's fixed unit variance.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: The only image side these networks are built for (the official "32x32" networks).
DIGIT_SIZE = 32
#: Dropout after each discriminator block on the scoring / classification path (official).
DIGIT_DROPOUT = (0.1, 0.3, 0.5, 0.5)
#: Shared layers of each encoder / decoder in the official coupling (see the module docstring).
DIGIT_SHARED_LAYERS = 3


def _bn_lrelu(conv: nn.Module, channels: int) -> nn.Sequential:
    return nn.Sequential(conv, nn.BatchNorm2d(channels), nn.LeakyReLU(0.01, True))


def digit_encoder_layers(in_ch: int, ch: int) -> list[nn.Module]:
    """The encoder's 4 layers, the latent-mean conv folded into the last: 32x32 -> 8ch x 1 x 1."""
    return [
        _bn_lrelu(nn.Conv2d(in_ch, ch, 5, 2, 2), ch),
        _bn_lrelu(nn.Conv2d(ch, ch * 2, 5, 2, 2), ch * 2),
        _bn_lrelu(nn.Conv2d(ch * 2, ch * 4, 8, 1, 0), ch * 4),
        nn.Sequential(
            *_bn_lrelu(nn.Conv2d(ch * 4, ch * 8, 1), ch * 8), nn.Conv2d(ch * 8, ch * 8, 1)
        ),
    ]


def digit_decoder_layers(out_ch: int, ch: int) -> list[nn.Module]:
    """The decoder's 5 layers: 8ch x 1 x 1 -> 32x32 image in [-1, 1]."""
    return [
        _bn_lrelu(nn.ConvTranspose2d(ch * 8, ch * 8, 4, 2, 0), ch * 8),
        _bn_lrelu(nn.ConvTranspose2d(ch * 8, ch * 4, 4, 2, 1), ch * 4),
        _bn_lrelu(nn.ConvTranspose2d(ch * 4, ch * 2, 4, 2, 1), ch * 2),
        _bn_lrelu(nn.ConvTranspose2d(ch * 2, ch, 4, 2, 1), ch),
        nn.Sequential(nn.ConvTranspose2d(ch, out_ch, 1), nn.Tanh()),
    ]


def _pool_block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 5, 1, 2), nn.ReLU(True), nn.MaxPool2d(2))


def digit_d_private(in_ch: int, ch: int) -> nn.Sequential:
    """A domain's private first discriminator block: 32x32 -> ch x 16 x 16."""
    return _pool_block(in_ch, ch)


class DigitTrunk(nn.Module):
    """The shared discriminator blocks (16 -> 2), with the official dropout on demand."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            [_pool_block(ch, ch * 2), _pool_block(ch * 2, ch * 4), _pool_block(ch * 4, ch * 8)]
        )
        self.width = ch * 8

    def forward(self, h: torch.Tensor, dropout: bool = True) -> torch.Tensor:
        p = DIGIT_DROPOUT
        active = dropout and self.training
        h = F.dropout(h, p[0], active)
        for block, rate in zip(self.blocks, p[1:], strict=True):
            h = F.dropout(block(h), rate, active)
        return h


class DigitHead(nn.Module):
    """A 2x2 conv over the trunk's 2x2 map: one real/fake score or the class logits."""

    def __init__(self, channels: int, outputs: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, outputs, 2)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.conv(h).flatten(1)
