"""Pix2pix: paired image-to-image translation with a conditional GAN.

Isola, Zhu, Zhou, Efros. "Image-to-Image Translation with Conditional Adversarial Networks."
CVPR 2017.

Paper -> code:
    x, y           the input and its ground-truth pair (``batch["A"]``, ``batch["B"]``)
    G              ``G`` (U-Net, Sec. 3.2.1 and 6.1.1; dropout is its only noise, Sec. 3)
    D              ``D`` (70x70 PatchGAN, Sec. 3.2.2), sees x concatenated with y or G(x)
    Eq. 1          L_cGAN = E[log D(x, y)] + E[log(1 - D(x, G(x)))]; G uses the
                   non-saturating form, maximising log D(x, G(x)) (Sec. 3.3)
    Eq. 3          L_L1 = E|y - G(x)|_1, weight lambda = 100 (``lambda_l1``)
    Eq. 4          G* = arg min_G max_D L_cGAN + lambda L_L1
    Sec. 3.3       D's objective is divided by 2, slowing D relative to G

``lambda_gan`` (default 1) scales the cGAN term: 0 gives the paper's "L1 only" ablation (Table 1),
in which D is not trained at all.

Defaults are the paper's: U-Net with 8 downsamplings (256 px), batch norm, Adam lr 2e-4 betas
(0.5, 0.999), N(0, 0.02) init. Deliberate departure: at inference the generator runs in eval mode
(batch norm with running statistics, dropout off) so outputs are deterministic; the paper keeps
dropout on at test time.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from transynth.capabilities import PAIRED_ONE_WAY
from transynth.losses import GAN_MODES, discriminator_loss, generator_loss
from transynth.models.base import Method, OptimizerSpec, columns_grid
from transynth.models.registration import register_model
from transynth.nn import PatchDiscriminator, UnetGenerator, init_weights
from transynth.nn.init import INITS
from transynth.nn.norm import NORMS
from transynth.runconfig import check


@dataclass(frozen=True)
class Pix2PixConfig:
    ngf: int = 64
    ndf: int = 64
    num_downs: int = 8  # 2**num_downs = image side gives a 1x1 bottleneck
    d_layers: int = 3  # 3 -> 70x70 PatchGAN
    norm: str = "batch"
    dropout: float = 0.5
    gan_mode: str = "vanilla"
    lambda_l1: float = 100.0
    lambda_gan: float = 1.0  # 0 = the L1-only ablation
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    init: str = "normal"
    init_gain: float = 0.02

    def __post_init__(self) -> None:
        check(self.norm in NORMS, "model.norm", self.norm, " | ".join(NORMS))
        check(self.gan_mode in GAN_MODES, "model.gan_mode", self.gan_mode, " | ".join(GAN_MODES))
        check(self.init in INITS, "model.init", self.init, " | ".join(INITS))
        check(self.num_downs >= 2, "model.num_downs", self.num_downs, "an integer >= 2")
        check(self.d_layers >= 1, "model.d_layers", self.d_layers, "an integer >= 1")
        check(
            self.lambda_l1 >= 0 and self.lambda_gan >= 0,
            "model.lambda_l1/lambda_gan",
            (self.lambda_l1, self.lambda_gan),
            "non-negative weights",
        )
        check(0 <= self.dropout < 1, "model.dropout", self.dropout, "in [0, 1)")


@register_model("pix2pix")
class Pix2Pix(Method):
    Config = Pix2PixConfig
    capabilities = PAIRED_ONE_WAY
    default_task = "edges2mnist"
    network_names = ("G", "D")
    monitored_losses = ("g/l1",)

    def __init__(self, config: Pix2PixConfig, domains, image_size: int) -> None:
        super().__init__(config, domains, image_size)
        c = config
        ch_a, ch_b = domains[0].channels, domains[1].channels
        if image_size % 2**c.num_downs:
            raise ValueError(
                f"pix2pix: image_size {image_size} is not a multiple of 2**num_downs = "
                f"{2**c.num_downs}; use model.num_downs <= {_max_downs(image_size)}"
            )
        self.G = UnetGenerator(ch_a, ch_b, c.num_downs, c.ngf, c.norm, c.dropout)
        self.D = PatchDiscriminator(ch_a + ch_b, c.ndf, c.d_layers, c.norm)
        for net in self.networks().values():
            init_weights(net, c.init, c.init_gain)
        self._fake: torch.Tensor | None = None

    def optimizers(self) -> dict[str, OptimizerSpec]:
        c = self.config
        betas = (c.beta1, c.beta2)
        return {"g": OptimizerSpec(("G",), c.lr, betas), "d": OptimizerSpec(("D",), c.lr, betas)}

    def phases(self, step: int) -> tuple[str, ...]:
        return ("g", "d") if self.config.lambda_gan > 0 else ("g",)

    def step(self, phase: str, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if phase == "g":
            return self.g_step(batch)
        if phase == "d":
            return self.d_step(batch)
        raise ValueError(f"pix2pix has phases g and d, not {phase!r}")

    def g_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        c = self.config
        real_a, real_b = batch["A"], batch["B"]
        fake_b = self.G(real_a)
        self._fake = fake_b.detach()  # reused by the D phase; detached: D's loss must not reach G
        losses = {"l1": c.lambda_l1 * F.l1_loss(fake_b.float(), real_b.float())}
        if c.lambda_gan > 0:
            score = self.D(torch.cat([real_a, fake_b], 1))
            losses["gan"] = c.lambda_gan * generator_loss(c.gan_mode, score)
        return losses

    def d_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        c = self.config
        real_a, real_b = batch["A"], batch["B"]
        fake_b = self._fake
        if fake_b is None:
            with torch.no_grad():
                fake_b = self.G(real_a)
        self._fake = None
        real_loss, fake_loss = discriminator_loss(
            c.gan_mode,
            self.D(torch.cat([real_a, real_b], 1)),
            self.D(torch.cat([real_a, fake_b], 1)),
        )
        return {"real": 0.5 * real_loss, "fake": 0.5 * fake_loss}

    def translate_tensor(self, x: torch.Tensor, direction: str, **condition) -> torch.Tensor:
        return self.G(x)

    def size_multiple(self, direction: str) -> int:
        return self.G.size_multiple

    @torch.no_grad()
    def visualize(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        """Rows of: input, output, ground truth."""
        return columns_grid([batch["A"], self.G(batch["A"]), batch["B"]])


def _max_downs(image_size: int) -> int:
    n = 0
    while image_size % 2 ** (n + 1) == 0:
        n += 1
    return n
