"""Weight initialisation (the pix2pix/CycleGAN reference code's choices)."""

from __future__ import annotations

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
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)

    net.apply(apply)
    return net
