"""DualGAN: unsupervised dual learning for image-to-image translation.

Yi, Zhang, Tan, Gong. "DualGAN: Unsupervised Dual Learning for Image-to-Image Translation."
ICCV 2017.

Paper -> code (the lecture's notation in brackets):
    U, V           domains A and B (``batch["A"]``, ``batch["B"]``)
    G_A: U -> V    ``G_AB`` [G_1]          G_B: V -> U    ``G_BA`` [G_2]
    D_A            ``D_B``: the critic of domain V, scores real v against G_A(u)
    D_B            ``D_A``: the critic of domain U, scores real u against G_B(v)
                   (critics are named by the domain they judge, as in ``cyclegan.py``)
    Eq. 1          critic loss  l^d_A = D_A(G_A(u)) - D_A(v), and the same for D_B: the WGAN
                   critic (no log, no sigmoid); here ``fake_B`` + ``real_B``
    Eq. 3          generator loss  lambda_U |u - G_B(G_A(u))|_1 + lambda_V |v - G_A(G_B(v))|_1
                   - D_B(G_B(v)) - D_A(G_A(u)); here ``recon_A`` + ``recon_B`` (weight
                   ``lambda_rec``) and ``gan_AB`` + ``gan_BA``
    Alg. 1         n_critic critic updates per generator update (``n_critic``), critic weights
                   clipped to [-c, c] after each critic update (``clip``), RMSProp

Networks as in the 2017 code (pix2pix-derived): U-Net generators (``UnetGenerator``: 8
downsamplings at 256 px, batch norm, dropout 0.5 in the 3 innermost decoder layers) and the
70x70 PatchGAN as critic (``PatchDiscriminator``, batch norm, no sigmoid), N(0, 0.02) init.

Defaults and where they come from:
    gan_mode "wgan"     weight clipping c = 0.01 with RMSProp lr 5e-5 (paper Sec. 4 / 2017 code)
    n_critic 3          the 2017 code
    lambda_rec 200      the paper gives lambda_U, lambda_V in [100, 1000]; code versions range
                        from 20 to 1000 and the 2017 WGAN code uses 200 (REFERENCE.md). One weight
                        serves both domains (the paper's experiments set lambda_U = lambda_V).
    batch 1             the paper (paper preset); lr constant (the 2017 code has no decay)
    gan_mode "wgan-gp"  the later code's option: gradient penalty (Gulrajani et al. 2017)
                        instead of clipping, lambda_gp 10, Adam lr 1e-4 betas (0.0, 0.9) as in
                        the WGAN-GP paper, and instance norm in the critics (batch norm couples
                        the samples of a batch, which invalidates the per-sample penalty).
    ``optimizer``, ``lr`` and ``d_norm`` default to "auto"/None, meaning the value above for
    the chosen ``gan_mode``; ``resolved()`` returns them.

The later official code (duxingren14/DualGAN, ``model.py``/``ops.py``/``main.py``, the version
whose README trains with ``--lambda_A 20.0 --lambda_B 20.0``), opt-in, all five keys together:
``--model.gan_mode=vanilla --model.n_critic=1 --model.g_updates=2 --model.lambda_rec=20
--model.norm=instance --model.d_norm=instance``. Against the defaults it changes exactly:
    gan_mode "vanilla"  the critic becomes a discriminator with sigmoid cross-entropy (real 1,
                        generated 0) and the generator loss the non-saturating cross-entropy;
                        no weight clipping (that code defines a clipping helper but never calls
                        it and never sets its bound)
    n_critic 1, g_updates 2   one discriminator update, then two generator updates on the same
                        batch (its ``run_optim``); phases ``("d", "g", "g")``
    lambda_rec 20       its ``lambda_A`` = ``lambda_B`` default
    norm / d_norm "instance"  its ``batch_norm`` op takes the moments of each image over height
                        and width only (``tf.nn.moments(x, axes=[1, 2])``) and keeps no running
                        averages: instance norm, in G and D alike, the same at training and at
                        test time (it also learns a scale and shift, which ``norm: instance``
                        here does not: ``transynth.nn.norm`` builds it without affine)
    unchanged           RMSProp lr 5e-5 (its ``--lr``; "auto" resolves to it for vanilla too),
                        U-Net G and PatchGAN D, L1 reconstruction, constant lr at paper scale.
    Not reproduced: its 5x5 kernels (here 4x4, as the pix2pix networks) and RMSProp decay 0.9.

How n_critic maps onto the step protocol: one training step is one batch, and its phases are
``("d",) * n_critic + ("g",) * g_updates``: n_critic critic updates, then g_updates (default 1)
generator updates, the critic
first as in Algorithm 1. The critic updates of a step all see the same batch and the same
generated images (produced once, without gradient, at the step's first critic phase, since the
generators do not change between them); in Algorithm 1 every critic iteration draws a fresh
batch. This keeps the protocol's "each phase runs on the same batch" contract and every step
ending with a generator update (so each logged step has generator terms), at the cost of less
data diversity per critic update. Weight clipping runs in ``after_optimizer_step("d")``, and
once at construction so the critics start inside the clipped set (the WGAN reference code
clamps before each critic forward instead; both keep every critic forward inside [-c, c]).
Clipping covers every critic parameter, batch-norm scales and shifts included, as in the WGAN
reference code.

Deliberate departures: torch's RMSprop smooths squared gradients with alpha 0.99 where the
TensorFlow code uses decay 0.9 (``OptimizerSpec`` has no alpha setting). Outputs use tanh in
[-1, 1] and domains may differ in channel count (gray MNIST <-> RGB MNIST-M): each generator and
critic is built for its own domains' channels.

Evaluation mode of batch norm: the TensorFlow codes run the same graph at training and test
time; in the later code verified above its "batch norm" is per-image (instance) normalisation, so
a test image is normalised by its own statistics. Here translation uses batch norm's running
averages (torch's eval mode), so that an image translates the same alone or in any batch, and
every figure in docs/BENCHMARKS.md is measured that way; ``eval_batch_stats: true`` translates
with the statistics of the batch at hand instead (running averages untouched;
``benchmarks/batch_stats_eval.py`` compares both on a run). With ``norm: instance`` the two are
the same.

Option outside the paper: ``joint_batch`` (off: the 2017 code scores real and generated images
in two critic calls, each with its own batch-norm statistics) scores them as one batch in both
phases, so that batch norm cannot normalise a whole-batch difference such as the amount of ink
away (the failure that broke this toolkit's DTN until D judged one batch). On ``mnist2uci`` it
changed nothing (docs/BENCHMARKS.md).

Option outside the paper: ``warp: affine`` puts a learned per-image affine re-framing (a spatial
transformer, `transynth.nn.warp`) in front of each generator; the objective is unchanged. Off by
default and in every preset.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from transynth.capabilities import UNPAIRED_BIDIRECTIONAL
from transynth.losses import discriminator_loss, generator_loss, gradient_penalty
from transynth.models.base import Method, OptimizerSpec, TwoWayTranslator, judge_real_and_fake
from transynth.models.registration import register_model
from transynth.nn import PatchDiscriminator, UnetGenerator, init_weights
from transynth.nn.batch_stats import batch_statistics
from transynth.nn.init import INITS
from transynth.nn.norm import NORMS
from transynth.nn.warp import WarpOptions
from transynth.runconfig import check

DUALGAN_MODES = ("wgan", "wgan-gp", "vanilla")
OPTIMIZERS = ("auto", "rmsprop", "adam")


@dataclass(frozen=True)
class DualGANConfig(WarpOptions):
    ngf: int = 64
    ndf: int = 64
    num_downs: int = 8  # U-Net depth; 2**num_downs = image side gives a 1x1 bottleneck
    d_layers: int = 3  # 3 -> 70x70 PatchGAN critic
    norm: str = "batch"  # generators
    d_norm: str = "auto"  # critics; auto: batch for wgan, instance for wgan-gp
    dropout: float = 0.5
    gan_mode: str = "wgan"  # wgan (weight clipping) | wgan-gp (gradient penalty) | vanilla
    clip: float = 0.01  # critic weights clipped to [-clip, clip] (wgan)
    lambda_gp: float = 10.0  # gradient penalty weight (wgan-gp)
    n_critic: int = 3  # critic updates per step
    g_updates: int = 1  # generator updates per step, after the critic's (2 in the later code)
    lambda_rec: float = 200.0  # L1 reconstruction weight (lambda_U = lambda_V)
    optimizer: str = "auto"  # auto: rmsprop for wgan, adam for wgan-gp
    lr: float | None = None  # None: 5e-5 (rmsprop) or 1e-4 (adam)
    beta1: float = 0.0  # Adam only (WGAN-GP paper)
    beta2: float = 0.9
    init: str = "normal"
    init_gain: float = 0.02
    joint_batch: bool = False  # each critic scores [real, generated] as ONE batch (see docstring)
    # translate with batch-norm statistics of the batch at hand, as the reference code (docstring)
    eval_batch_stats: bool = False

    def __post_init__(self) -> None:
        self.check_warp(check)
        check(
            self.gan_mode in DUALGAN_MODES,
            "model.gan_mode",
            self.gan_mode,
            " | ".join(DUALGAN_MODES),
        )
        check(self.norm in NORMS, "model.norm", self.norm, " | ".join(NORMS))
        check(
            self.d_norm in ("auto", *NORMS),
            "model.d_norm",
            self.d_norm,
            " | ".join(("auto", *NORMS)),
        )
        check(
            self.optimizer in OPTIMIZERS, "model.optimizer", self.optimizer, " | ".join(OPTIMIZERS)
        )
        check(self.init in INITS, "model.init", self.init, " | ".join(INITS))
        check(self.num_downs >= 2, "model.num_downs", self.num_downs, "an integer >= 2")
        check(self.d_layers >= 1, "model.d_layers", self.d_layers, "an integer >= 1")
        check(
            self.ngf >= 1 and self.ndf >= 1, "model.ngf/ndf", (self.ngf, self.ndf), "integers >= 1"
        )
        check(self.n_critic >= 1, "model.n_critic", self.n_critic, "an integer >= 1")
        check(self.g_updates >= 1, "model.g_updates", self.g_updates, "an integer >= 1")
        check(self.clip > 0, "model.clip", self.clip, "a positive bound")
        check(
            self.lambda_rec >= 0 and self.lambda_gp >= 0,
            "model.lambda_rec/lambda_gp",
            (self.lambda_rec, self.lambda_gp),
            "non-negative weights",
        )
        check(self.lr is None or self.lr > 0, "model.lr", self.lr, "a positive float or null")
        check(0 <= self.dropout < 1, "model.dropout", self.dropout, "in [0, 1)")
        check(
            not (self.gan_mode == "wgan-gp" and self.d_norm == "batch"),
            "model.d_norm",
            self.d_norm,
            "instance, none or auto with gan_mode=wgan-gp (batch norm mixes the "
            "samples the gradient penalty treats one by one)",
        )

    def resolved(self) -> tuple[str, float, str]:
        """(optimizer, lr, critic norm) with the "auto" values filled in for `gan_mode`."""
        penalty = self.gan_mode == "wgan-gp"
        optimizer = (
            self.optimizer if self.optimizer != "auto" else ("adam" if penalty else "rmsprop")
        )
        lr = self.lr if self.lr is not None else (5e-5 if optimizer == "rmsprop" else 1e-4)
        d_norm = self.d_norm if self.d_norm != "auto" else ("instance" if penalty else "batch")
        return optimizer, lr, d_norm


@register_model("dualgan")
class DualGAN(TwoWayTranslator, Method):
    Config = DualGANConfig
    capabilities = UNPAIRED_BIDIRECTIONAL
    default_task = "mnist2uci"
    network_names = ("G_AB", "G_BA", "D_A", "D_B")
    monitored_losses = ("g/recon_A", "g/recon_B")

    def __init__(self, config: DualGANConfig, domains, image_size: int) -> None:
        super().__init__(config, domains, image_size)
        c = config
        if image_size % 2**c.num_downs:
            raise ValueError(
                f"dualgan: image_size {image_size} is not a multiple of 2**num_downs = "
                f"{2**c.num_downs}; lower model.num_downs"
            )
        ch_a, ch_b = domains[0].channels, domains[1].channels
        _, _, d_norm = c.resolved()
        self.G_AB = c.warped(UnetGenerator(ch_a, ch_b, c.num_downs, c.ngf, c.norm, c.dropout), ch_a)
        self.G_BA = c.warped(UnetGenerator(ch_b, ch_a, c.num_downs, c.ngf, c.norm, c.dropout), ch_b)
        self.D_A = PatchDiscriminator(ch_a, c.ndf, c.d_layers, d_norm)
        self.D_B = PatchDiscriminator(ch_b, c.ndf, c.d_layers, d_norm)
        for net in self.networks().values():
            init_weights(net, c.init, c.init_gain)
        self.clip_critics()
        # Generated images shared by the critic phases of one step: (key, fake_A, fake_B).
        self._fakes: tuple[tuple[int, int, int], torch.Tensor, torch.Tensor] | None = None

    @property
    def adversarial(self) -> str:
        """The loss of `transynth.losses` the critics and generators use: the Wasserstein
        critic (Eq. 1; both WGAN modes) or the vanilla GAN's non-saturating cross-entropy."""
        return "vanilla" if self.config.gan_mode == "vanilla" else "wgan"

    # ---- protocol --------------------------------------------------------------------------
    def optimizers(self) -> dict[str, OptimizerSpec]:
        c = self.config
        kind, lr, _ = c.resolved()
        betas = (c.beta1, c.beta2)
        return {
            "g": OptimizerSpec(("G_AB", "G_BA"), lr, betas, kind=kind),
            "d": OptimizerSpec(("D_A", "D_B"), lr, betas, kind=kind),
        }

    def phases(self, step: int) -> tuple[str, ...]:
        return ("d",) * self.config.n_critic + ("g",) * self.config.g_updates

    def step(self, phase: str, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if phase == "g":
            return self.g_step(batch)
        if phase == "d":
            return self.d_step(batch)
        raise ValueError(f"dualgan has phases g and d, not {phase!r}")

    def after_optimizer_step(self, phase: str) -> None:
        if phase == "d":
            self.clip_critics()

    @torch.no_grad()
    def clip_critics(self) -> None:
        """WGAN weight clipping: every critic parameter into [-clip, clip] (wgan mode only)."""
        if self.config.gan_mode != "wgan":
            return
        c = self.config.clip
        for net in (self.D_A, self.D_B):
            for p in net.parameters():
                p.clamp_(-c, c)

    def g_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        c = self.config
        real_a, real_b = batch["A"], batch["B"]
        self._fakes = None  # the generators are about to change
        fake_b = self.G_AB(real_a)  # G_A(u)
        fake_a = self.G_BA(real_b)  # G_B(v)
        rec_a = self.G_BA(fake_b)  # G_B(G_A(u))
        rec_b = self.G_AB(fake_a)  # G_A(G_B(v))
        return {
            "gan_AB": generator_loss(self.adversarial, self._score_fake(self.D_B, real_b, fake_b)),
            "gan_BA": generator_loss(self.adversarial, self._score_fake(self.D_A, real_a, fake_a)),
            "recon_A": c.lambda_rec * F.l1_loss(rec_a.float(), real_a.float()),
            "recon_B": c.lambda_rec * F.l1_loss(rec_b.float(), real_b.float()),
        }

    def _score(
        self, critic: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The critic's scores of real and generated images: two batches (the 2017 code), or
        with ``joint_batch`` one, so that batch norm cannot normalise their difference away."""
        return judge_real_and_fake(critic, real, fake, self.config.joint_batch)

    def _score_fake(
        self, critic: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor
    ) -> torch.Tensor:
        """The critic's scores of the generated images in the generator phase, judged as in the
        critic phase: D(G(u)) alone, or with ``joint_batch`` beside the real images."""
        return self._score(critic, real, fake)[1] if self.config.joint_batch else critic(fake)

    def _generated(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """G_B(v), G_A(u) for this step's critic phases, generated once per step and batch."""
        real_a, real_b = batch["A"], batch["B"]
        key = (self.global_step, real_a.data_ptr(), real_b.data_ptr())
        if self._fakes is None or self._fakes[0] != key:
            with torch.no_grad():
                self._fakes = (key, self.G_BA(real_b), self.G_AB(real_a))
        return self._fakes[1], self._fakes[2]

    def d_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        c = self.config
        real_a, real_b = batch["A"], batch["B"]
        fake_a, fake_b = self._generated(batch)
        real_a_loss, fake_a_loss = discriminator_loss(
            self.adversarial, *self._score(self.D_A, real_a, fake_a)
        )
        real_b_loss, fake_b_loss = discriminator_loss(
            self.adversarial, *self._score(self.D_B, real_b, fake_b)
        )
        losses = {  # D(G(u)) - D(v) per critic (Eq. 1), or the vanilla GAN's cross-entropy
            "real_A": real_a_loss,
            "fake_A": fake_a_loss,
            "real_B": real_b_loss,
            "fake_B": fake_b_loss,
        }
        if c.gan_mode == "wgan-gp":
            losses["gp_A"] = c.lambda_gp * gradient_penalty(self.D_A, real_a, fake_a)
            losses["gp_B"] = c.lambda_gp * gradient_penalty(self.D_B, real_b, fake_b)
        return losses

    # ---- inference -------------------------------------------------------------------------
    def translate_tensor(self, x: torch.Tensor, direction: str, **condition) -> torch.Tensor:
        """G_AB(x) or G_BA(x); with ``eval_batch_stats`` the generators' batch norm uses the
        statistics of `x` itself (as the reference code translates), not its running averages."""
        nets = (self.G_AB, self.G_BA)
        with batch_statistics(*nets, enabled=self.config.eval_batch_stats):
            return super().translate_tensor(x, direction, **condition)
