"""DiscoGAN: learning to discover cross-domain relations with generative adversarial networks.

Kim, Cha, Kim, Lee, Kim. "Learning to Discover Cross-Domain Relations with Generative
Adversarial Networks." ICML 2017.

Paper -> code (the lecture's notation in brackets):
    A, B           domains A and B (``batch["A"]``, ``batch["B"]``)
    G_AB           ``G_AB`` [G_1]          G_BA           ``G_BA`` [G_2]
    D_B            ``D_B``: real b vs G_AB(x_A)      D_A   ``D_A``: real a vs G_BA(x_B)
    Eq. 2          L_CONST_A = d(G_BA(G_AB(x_A)), x_A), d = MSE (``recon_A``; ``recon_B`` the same
                   for B)
    Eq. 3          L_GAN_B = -E log D_B(G_AB(x_A)) (``gan_AB``; ``gan_BA`` for A)
    Eq. 4/5        L_G = L_G_AB + L_G_BA, L_D = L_D_A + L_D_B, standard GAN objective

The reference code (SKTBrain/DiscoGAN, ``image_translation.py``) adds two things the paper does
not spell out, both reproduced here:
    - the adversarial term of each generator is 0.1 GAN + 0.9 feature matching (``gan_weight``,
      ``fm_weight``): the squared difference of the batch-mean activations of D's intermediate
      layers (all but the first conv block) on real and generated images (``fm_AB``, ``fm_BA``);
    - the generator objective is (1 - r) * adversarial + r * reconstruction with r = 0.01 for the
      first 10,000 iterations ("GAN curriculum") and 0.5 afterwards (``rate_start``,
      ``rate_end``, ``curriculum_steps``). ``recon_rate(step)`` and ``loss_weights(step)`` are
      pure functions of the step; ``step`` reads ``self.global_step``, set by the trainer.
The D objective is halved (0.5 real + 0.5 fake), as in the reference code.

Networks (paper Sec. 4, reference ``model.py``): G is an encoder of 4x4 stride-2 convs
64-128-256-512 (batch norm on all but the first, LeakyReLU 0.2) and a decoder of 4x4 stride-2
transposed convs 256-128-64-out (batch norm, ReLU). D is the same encoder followed by a 4x4
valid conv to one logit. At 64 px the paper's 4 levels leave a 4x4 bottleneck; ``n_levels = 0``
(the default) picks the depth that leaves 4x4 for the image size (4 at 64 px, 3 at 32 px), any
other value fixes it. Adam lr 2e-4 betas (0.5, 0.999) with weight decay 1e-5, batch 64 at 64 px,
convs without bias and PyTorch's default init (``init: pytorch``), all as in the reference code.

How the reference's update schedule maps onto the step protocol: the reference code updates D on
every ``update_interval``-th (3rd) iteration and the generators on the other two, each on its own
batch. Here every step updates the generators, and every (update_interval - 1)-th step also
updates D on the same batch and the same generated images (G phase first, like ``cyclegan.py``):
the same 2 generator updates per D update. ``curriculum_steps`` counts steps, i.e. generator
updates; in the reference 10,000 iterations hold about 6,700 generator updates, so the switch
comes a little later here relative to the number of generator updates.

Deliberate departures: outputs use tanh for images in [-1, 1] (the reference uses a sigmoid for
[0, 1]); D returns a logit and the loss applies the sigmoid (binary cross-entropy with logits,
mathematically the reference's sigmoid + BCE); ``dropout`` (default 0, absent in the paper) can
add dropout after the inner decoder layers. Domains may differ in channel count (each network is
built for its domains' channels).

Evaluation mode of batch norm: the reference code never calls ``eval()``; it translates its
whole test set as one batch in training mode, i.e. with that batch's statistics. Here
translation uses batch norm's running averages (torch's eval mode), so that an image translates
the same alone or in any batch, and every figure in docs/BENCHMARKS.md is measured that way;
``eval_batch_stats: true`` translates with the statistics of the batch at hand instead (running
averages untouched; ``benchmarks/batch_stats_eval.py`` compares both on a run).

Option outside the paper: ``warp: affine`` puts a learned per-image affine re-framing (a spatial
transformer, `transynth.nn.warp`) in front of each generator; the objective is unchanged. Off by
default and in every preset.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from transynth.capabilities import UNPAIRED_BIDIRECTIONAL
from transynth.losses import discriminator_loss, generator_loss
from transynth.models.base import Method, OptimizerSpec, TwoWayTranslator
from transynth.models.registration import register_model
from transynth.nn import init_weights
from transynth.nn.batch_stats import batch_statistics
from transynth.nn.init import INITS
from transynth.nn.warp import WarpOptions
from transynth.runconfig import check

DISCO_INITS = ("pytorch", *INITS)


def auto_levels(image_size: int) -> int:
    """The number of stride-2 levels that leaves a 4x4 map (4 at 64 px, 3 at 32 px); for sides
    that are not 4 * 2**n, the deepest level count whose map is still whole and >= 4."""
    n = 0
    while image_size % 2 ** (n + 1) == 0 and image_size // 2 ** (n + 1) >= 4:
        n += 1
    return n


def _widths(ngf: int, n_levels: int) -> list[int]:
    return [ngf * min(2**i, 8) for i in range(n_levels)]


class DiscoEncoder(nn.Module):
    """4x4 stride-2 convs (no bias) C64-C128-C256-C512..., batch norm on all but the first,
    LeakyReLU 0.2. Returns every level's output."""

    def __init__(self, in_channels: int, ngf: int, n_levels: int) -> None:
        super().__init__()
        self.levels = nn.ModuleList()
        prev = in_channels
        for i, w in enumerate(_widths(ngf, n_levels)):
            layers: list[nn.Module] = [nn.Conv2d(prev, w, 4, stride=2, padding=1, bias=False)]
            if i > 0:
                layers.append(nn.BatchNorm2d(w))
            layers.append(nn.LeakyReLU(0.2, True))
            self.levels.append(nn.Sequential(*layers))
            prev = w
        self.out_channels = prev

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = []
        for level in self.levels:
            x = level(x)
            outs.append(x)
        return outs


class DiscoGenerator(nn.Module):
    """The encoder above, then mirrored 4x4 stride-2 transposed convs (batch norm, ReLU) back to
    the input size, tanh. No skip connections: all information passes the bottleneck."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        ngf: int = 64,
        n_levels: int = 4,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if n_levels < 1:
            raise ValueError(f"DiscoGenerator needs n_levels >= 1, got {n_levels}")
        self.encoder = DiscoEncoder(in_channels, ngf, n_levels)
        widths = _widths(ngf, n_levels)
        layers: list[nn.Module] = []
        for i in reversed(range(n_levels)):
            if i == 0:
                layers += [
                    nn.ConvTranspose2d(widths[0], out_channels, 4, 2, 1, bias=False),
                    nn.Tanh(),
                ]
            else:
                layers += [
                    nn.ConvTranspose2d(widths[i], widths[i - 1], 4, 2, 1, bias=False),
                    nn.BatchNorm2d(widths[i - 1]),
                    nn.ReLU(True),
                ]
                if dropout:
                    layers.append(nn.Dropout(dropout))
        self.decoder = nn.Sequential(*layers)
        self.size_multiple = 2**n_levels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x)[-1])


class DiscoDiscriminator(nn.Module):
    """The encoder above and a 4x4 valid conv to one logit (a map of them on larger inputs).

    ``forward`` returns (logits, features): the features are the outputs of every encoder level
    but the first (relu2..relu4 of the reference code), used for feature matching.
    """

    def __init__(self, in_channels: int, ndf: int = 64, n_levels: int = 4) -> None:
        super().__init__()
        self.encoder = DiscoEncoder(in_channels, ndf, n_levels)
        self.head = nn.Conv2d(self.encoder.out_channels, 1, 4, stride=1, padding=0, bias=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        feats = self.encoder(x)
        return self.head(feats[-1]), feats[1:]


def feature_matching_loss(real: list[torch.Tensor], fake: list[torch.Tensor]) -> torch.Tensor:
    """Sum over layers of the mean squared difference of batch-mean activations (the reference
    code's HingeEmbeddingLoss of the squared difference against target 1, which is its mean)."""
    total = torch.zeros((), device=fake[0].device)
    for r, f in zip(real, fake, strict=True):
        total = total + ((r.detach().float().mean(0) - f.float().mean(0)) ** 2).mean()
    return total


@dataclass(frozen=True)
class DiscoGANConfig(WarpOptions):
    ngf: int = 64
    ndf: int = 64
    n_levels: int = 0  # stride-2 levels of G and D; 0 = leave a 4x4 map (4 at 64 px, 3 at 32)
    dropout: float = 0.0  # not in the paper
    gan_weight: float = 0.1  # adversarial term = gan_weight * GAN + fm_weight * feature matching
    fm_weight: float = 0.9
    rate_start: float = 0.01  # reconstruction weight r during the GAN curriculum
    rate_end: float = 0.5  # r afterwards; generator loss = (1 - r) * adversarial + r * recon
    curriculum_steps: int = 10000
    update_interval: int = 3  # reference: 1 D update per update_interval iterations
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    weight_decay: float = 1e-5
    init: str = "pytorch"  # pytorch = the framework's default init (the reference code)
    init_gain: float = 0.02
    # translate with batch-norm statistics of the batch at hand, as the reference code (docstring)
    eval_batch_stats: bool = False

    def __post_init__(self) -> None:
        self.check_warp(check)
        check(self.init in DISCO_INITS, "model.init", self.init, " | ".join(DISCO_INITS))
        check(
            self.ngf >= 1 and self.ndf >= 1, "model.ngf/ndf", (self.ngf, self.ndf), "integers >= 1"
        )
        check(self.n_levels >= 0, "model.n_levels", self.n_levels, "0 (auto) or an integer >= 1")
        check(0 <= self.dropout < 1, "model.dropout", self.dropout, "in [0, 1)")
        check(
            self.gan_weight >= 0 and self.fm_weight >= 0,
            "model.gan_weight/fm_weight",
            (self.gan_weight, self.fm_weight),
            "non-negative weights",
        )
        for name in ("rate_start", "rate_end"):
            check(0 <= getattr(self, name) <= 1, f"model.{name}", getattr(self, name), "in [0, 1]")
        check(
            self.curriculum_steps >= 0,
            "model.curriculum_steps",
            self.curriculum_steps,
            "an integer >= 0",
        )
        check(
            self.update_interval >= 2,
            "model.update_interval",
            self.update_interval,
            "an integer >= 2 (1 D update per update_interval - 1 generator updates)",
        )
        check(self.weight_decay >= 0, "model.weight_decay", self.weight_decay, ">= 0")


@register_model("discogan")
class DiscoGAN(TwoWayTranslator, Method):
    Config = DiscoGANConfig
    capabilities = UNPAIRED_BIDIRECTIONAL
    default_task = "mnist2uci"
    network_names = ("G_AB", "G_BA", "D_A", "D_B")
    monitored_losses = ("g/recon_A", "g/recon_B")

    def __init__(self, config: DiscoGANConfig, domains, image_size: int) -> None:
        super().__init__(config, domains, image_size)
        c = config
        n = c.n_levels or auto_levels(image_size)
        if n < 1 or image_size % 2**n or image_size // 2**n < 4:
            raise ValueError(
                f"discogan: image_size {image_size} does not fit n_levels {n} (the side must be a "
                f"multiple of 2**n_levels leaving at least 4 pixels); use model.n_levels <= "
                f"{auto_levels(image_size)} or 0 (auto)"
            )
        self.n_levels = n
        ch_a, ch_b = domains[0].channels, domains[1].channels
        self.G_AB = c.warped(DiscoGenerator(ch_a, ch_b, c.ngf, n, c.dropout), ch_a)
        self.G_BA = c.warped(DiscoGenerator(ch_b, ch_a, c.ngf, n, c.dropout), ch_b)
        self.D_A = DiscoDiscriminator(ch_a, c.ndf, n)
        self.D_B = DiscoDiscriminator(ch_b, c.ndf, n)
        if c.init != "pytorch":
            for net in self.networks().values():
                init_weights(net, c.init, c.init_gain)
        self._fakes: tuple[torch.Tensor, torch.Tensor] | None = None

    # ---- schedules (pure functions of the step) --------------------------------------------
    def recon_rate(self, step: int) -> float:
        """The reconstruction weight r: rate_start during the GAN curriculum, then rate_end."""
        c = self.config
        return c.rate_start if step < c.curriculum_steps else c.rate_end

    def loss_weights(self, step: int) -> dict[str, float]:
        """Weights of the generator terms at `step`: GAN, feature matching, reconstruction."""
        c = self.config
        r = self.recon_rate(step)
        return {"gan": (1 - r) * c.gan_weight, "fm": (1 - r) * c.fm_weight, "recon": r}

    # ---- protocol --------------------------------------------------------------------------
    def optimizers(self) -> dict[str, OptimizerSpec]:
        c = self.config
        betas = (c.beta1, c.beta2)
        return {
            "g": OptimizerSpec(("G_AB", "G_BA"), c.lr, betas, weight_decay=c.weight_decay),
            "d": OptimizerSpec(("D_A", "D_B"), c.lr, betas, weight_decay=c.weight_decay),
        }

    def phases(self, step: int) -> tuple[str, ...]:
        return ("g", "d") if step % (self.config.update_interval - 1) == 0 else ("g",)

    def step(self, phase: str, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if phase == "g":
            return self.g_step(batch)
        if phase == "d":
            return self.d_step(batch)
        raise ValueError(f"discogan has phases g and d, not {phase!r}")

    def g_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        w = self.loss_weights(self.global_step)
        real_a, real_b = batch["A"], batch["B"]
        fake_b = self.G_AB(real_a)  # G_AB(x_A)
        fake_a = self.G_BA(real_b)  # G_BA(x_B)
        rec_a = self.G_BA(fake_b)  # G_BA(G_AB(x_A))
        rec_b = self.G_AB(fake_a)  # G_AB(G_BA(x_B))
        self._fakes = (fake_a.detach(), fake_b.detach())  # for this step's D phase
        score_fb, feats_fb = self.D_B(fake_b)
        score_fa, feats_fa = self.D_A(fake_a)
        with torch.no_grad():  # real features are targets only
            feats_rb = self.D_B(real_b)[1]
            feats_ra = self.D_A(real_a)[1]
        return {
            "gan_AB": w["gan"] * generator_loss("vanilla", score_fb),
            "fm_AB": w["fm"] * feature_matching_loss(feats_rb, feats_fb),
            "gan_BA": w["gan"] * generator_loss("vanilla", score_fa),
            "fm_BA": w["fm"] * feature_matching_loss(feats_ra, feats_fa),
            "recon_A": w["recon"] * F.mse_loss(rec_a.float(), real_a.float()),
            "recon_B": w["recon"] * F.mse_loss(rec_b.float(), real_b.float()),
        }

    def d_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        real_a, real_b = batch["A"], batch["B"]
        if self._fakes is None:  # D phase without a preceding G phase: generate without grad
            with torch.no_grad():
                self._fakes = (self.G_BA(real_b), self.G_AB(real_a))
        fake_a, fake_b = self._fakes
        self._fakes = None
        real_a_loss, fake_a_loss = discriminator_loss(
            "vanilla", self.D_A(real_a)[0], self.D_A(fake_a)[0]
        )
        real_b_loss, fake_b_loss = discriminator_loss(
            "vanilla", self.D_B(real_b)[0], self.D_B(fake_b)[0]
        )
        return {  # halved, as in the reference code
            "real_A": 0.5 * real_a_loss,
            "fake_A": 0.5 * fake_a_loss,
            "real_B": 0.5 * real_b_loss,
            "fake_B": 0.5 * fake_b_loss,
        }

    # ---- inference -------------------------------------------------------------------------
    def translate_tensor(self, x: torch.Tensor, direction: str, **condition) -> torch.Tensor:
        """G_AB(x) or G_BA(x); with ``eval_batch_stats`` the generators' batch norm uses the
        statistics of `x` itself (as the reference code translates), not its running averages."""
        nets = (self.G_AB, self.G_BA)
        with batch_statistics(*nets, enabled=self.config.eval_batch_stats):
            return super().translate_tensor(x, direction, **condition)
