"""CycleGAN: unpaired image-to-image translation with cycle consistency.

Zhu, Park, Isola, Efros. "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial
Networks." ICCV 2017.

Paper -> code (the lecture's notation in brackets):
    X, Y           domains A and B (``batch["A"]``, ``batch["B"]``)
    G: X -> Y      ``G_AB`` [G_1]          F: Y -> X      ``G_BA`` [G_2]
    D_Y            ``D_B`` (judges real B vs G(x))   D_X   ``D_A`` (judges real A vs F(y))
    Eq. 1/2        L_GAN, here least squares (Sec. 4 "Training details"): G minimises
                   (D_Y(G(x)) - 1)^2, D minimises (D_Y(y) - 1)^2 + D_Y(G(x))^2, halved.
    Eq. 2          L_cyc = |F(G(x)) - x|_1 + |G(F(y)) - y|_1, weight lambda = 10 (``lambda_cyc``)
    Sec. 5.2       identity L_idt = |G(y) - y|_1 + |F(x) - x|_1, weight 0.5 * lambda
                   (``lambda_identity`` is the 0.5, as in the reference code)
    Sec. 4         D is trained on a history of 50 generated images (``pool_size``)

Defaults are the paper's: ResNet generator with 9 blocks (256 px; 6 at 128 px), 70x70 PatchGAN,
instance norm, Adam lr 2e-4 betas (0.5, 0.999), N(0, 0.02) init, batch 1, lr constant for the
first half then linearly decayed to 0 (the trainer's ``decay_start``). ``generator: unet`` is the
reference code's other generator family (``--netG unet_256``): a U-Net with ``num_downs``
stride-2 levels and skip connections (no dropout unless ``dropout`` > 0, as ``--no_dropout``).

Option outside the paper: ``warp: affine`` puts a learned per-image affine re-framing (a spatial
transformer, `transynth.nn.warp`) in front of each generator, for domains that differ in scale
and framing; the objective is unchanged. Off by default and in every preset.

Order within a step (the reference code's): the G phase first, generating G(x) and F(y); then the
D phase on those same images, detached and passed through the history pool.

Deliberate departure: when the two domains have different channel counts (e.g. gray MNIST to
RGB MNIST-M), the identity loss is undefined (G would receive images of the wrong depth) and is
skipped; `identity_active` says whether it is on.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from transynth.capabilities import UNPAIRED_BIDIRECTIONAL
from transynth.losses import GAN_MODES, discriminator_loss, generator_loss
from transynth.models.base import Method, OptimizerSpec, TwoWayTranslator
from transynth.models.registration import register_model
from transynth.nn import (
    ImagePool,
    PatchDiscriminator,
    ResnetGenerator,
    UnetGenerator,
    init_weights,
)
from transynth.nn.init import INITS
from transynth.nn.norm import NORMS
from transynth.nn.warp import WarpOptions
from transynth.runconfig import check

GENERATORS = ("resnet", "unet")


@dataclass(frozen=True)
class CycleGANConfig(WarpOptions):
    ngf: int = 64
    ndf: int = 64
    n_blocks: int = 9
    generator: str = "resnet"  # resnet | unet (the reference code's --netG families)
    num_downs: int = 8  # U-Net levels (unet only): 8 at 256 px, 5 at 32 px
    d_layers: int = 3  # 3 -> 70x70 PatchGAN
    norm: str = "instance"
    dropout: float = 0.0
    gan_mode: str = "lsgan"
    lambda_cyc: float = 10.0
    lambda_identity: float = 0.5  # times lambda_cyc
    pool_size: int = 50
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    init: str = "normal"
    init_gain: float = 0.02

    def __post_init__(self) -> None:
        check(self.norm in NORMS, "model.norm", self.norm, " | ".join(NORMS))
        check(self.gan_mode in GAN_MODES, "model.gan_mode", self.gan_mode, " | ".join(GAN_MODES))
        check(self.init in INITS, "model.init", self.init, " | ".join(INITS))
        check(
            self.generator in GENERATORS, "model.generator", self.generator, " | ".join(GENERATORS)
        )
        self.check_warp(check)
        check(self.num_downs >= 2, "model.num_downs", self.num_downs, "an integer >= 2")
        check(
            self.n_blocks >= 0 and self.ngf >= 1 and self.ndf >= 1,
            "model.n_blocks/ngf/ndf",
            (self.n_blocks, self.ngf, self.ndf),
            "n_blocks >= 0, ngf >= 1, ndf >= 1",
        )
        check(self.d_layers >= 1, "model.d_layers", self.d_layers, "an integer >= 1")
        check(
            self.lambda_cyc >= 0 and self.lambda_identity >= 0,
            "model.lambda_cyc/identity",
            (self.lambda_cyc, self.lambda_identity),
            "non-negative weights",
        )
        check(self.pool_size >= 0, "model.pool_size", self.pool_size, "an integer >= 0")


@register_model("cyclegan")
class CycleGAN(TwoWayTranslator, Method):
    Config = CycleGANConfig
    capabilities = UNPAIRED_BIDIRECTIONAL
    default_task = "mnist2uci"
    network_names = ("G_AB", "G_BA", "D_A", "D_B")
    monitored_losses = ("g/cycle_A", "g/cycle_B")

    def __init__(self, config: CycleGANConfig, domains, image_size: int) -> None:
        super().__init__(config, domains, image_size)
        c = config
        ch_a, ch_b = domains[0].channels, domains[1].channels
        self.G_AB = self._generator(ch_a, ch_b, image_size)
        self.G_BA = self._generator(ch_b, ch_a, image_size)
        self.D_A = PatchDiscriminator(ch_a, c.ndf, c.d_layers, c.norm)
        self.D_B = PatchDiscriminator(ch_b, c.ndf, c.d_layers, c.norm)
        for net in self.networks().values():
            init_weights(net, c.init, c.init_gain)
        self.pool_A = ImagePool(c.pool_size)
        self.pool_B = ImagePool(c.pool_size)
        self.identity_active = c.lambda_identity > 0 and ch_a == ch_b
        self._fakes: tuple[torch.Tensor, torch.Tensor] | None = None

    def _generator(self, cin: int, cout: int, image_size: int) -> nn.Module:
        return self.config.warped(self._translator(cin, cout, image_size), cin)

    def _translator(self, cin: int, cout: int, image_size: int) -> nn.Module:
        c = self.config
        if c.generator == "resnet":
            return ResnetGenerator(cin, cout, c.ngf, c.n_blocks, c.norm, c.dropout)
        if image_size % 2**c.num_downs:
            raise ValueError(
                f"a U-Net with model.num_downs={c.num_downs} needs an image size divisible by "
                f"{2**c.num_downs}, got {image_size}; lower num_downs (e.g. 5 at 32 px)"
            )
        return UnetGenerator(cin, cout, c.num_downs, c.ngf, c.norm, c.dropout)

    def optimizers(self) -> dict[str, OptimizerSpec]:
        c = self.config
        betas = (c.beta1, c.beta2)
        return {
            "g": OptimizerSpec(("G_AB", "G_BA"), c.lr, betas),
            "d": OptimizerSpec(("D_A", "D_B"), c.lr, betas),
        }

    def step(self, phase: str, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if phase == "g":
            return self.g_step(batch)
        if phase == "d":
            return self.d_step(batch)
        raise ValueError(f"cyclegan has phases g and d, not {phase!r}")

    def g_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        c = self.config
        real_a, real_b = batch["A"], batch["B"]
        fake_b = self.G_AB(real_a)  # G(x)
        fake_a = self.G_BA(real_b)  # F(y)
        rec_a = self.G_BA(fake_b)  # F(G(x))
        rec_b = self.G_AB(fake_a)  # G(F(y))
        # The D phase reuses these outputs; detached so that its backward stops at D.
        self._fakes = (fake_a.detach(), fake_b.detach())
        losses = {
            "gan_AB": generator_loss(c.gan_mode, self.D_B(fake_b)),
            "gan_BA": generator_loss(c.gan_mode, self.D_A(fake_a)),
            "cycle_A": c.lambda_cyc * F.l1_loss(rec_a.float(), real_a.float()),
            "cycle_B": c.lambda_cyc * F.l1_loss(rec_b.float(), real_b.float()),
        }
        if self.identity_active:
            w = c.lambda_cyc * c.lambda_identity
            losses["idt_A"] = w * F.l1_loss(self.G_BA(real_a).float(), real_a.float())
            losses["idt_B"] = w * F.l1_loss(self.G_AB(real_b).float(), real_b.float())
        return losses

    def d_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        c = self.config
        if self._fakes is None:  # D phase without a preceding G phase: generate without grad
            with torch.no_grad():
                self._fakes = (self.G_BA(batch["B"]), self.G_AB(batch["A"]))
        fake_a, fake_b = self._fakes
        self._fakes = None
        fake_a = self.pool_A.query(fake_a)
        fake_b = self.pool_B.query(fake_b)
        real_a_loss, fake_a_loss = discriminator_loss(
            c.gan_mode, self.D_A(batch["A"]), self.D_A(fake_a)
        )
        real_b_loss, fake_b_loss = discriminator_loss(
            c.gan_mode, self.D_B(batch["B"]), self.D_B(fake_b)
        )
        # The paper halves D's objective, slowing D relative to G.
        return {
            "real_A": 0.5 * real_a_loss,
            "fake_A": 0.5 * fake_a_loss,
            "real_B": 0.5 * real_b_loss,
            "fake_B": 0.5 * fake_b_loss,
        }

    def extra_state(self) -> dict[str, torch.Tensor]:
        state = {f"pool_A.{k}": v for k, v in self.pool_A.state_dict().items()}
        state.update({f"pool_B.{k}": v for k, v in self.pool_B.state_dict().items()})
        return state

    def load_extra_state(self, state: dict[str, torch.Tensor]) -> None:
        for name, pool in (("pool_A", self.pool_A), ("pool_B", self.pool_B)):
            prefix = name + "."
            pool.load_state_dict(
                {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
            )
