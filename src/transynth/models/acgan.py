"""AC-GAN: class-conditional generation with an auxiliary classifier in the discriminator.

Odena, Olah, Shlens. "Conditional Image Synthesis with Auxiliary Classifier GANs." ICML 2017.

Paper -> code:
    c ~ p_c        the class of a generated image, uniform over the task's classes
    X_fake = G(c, z)   ``G``: input [z, one-hot(c)] (:class:`~transynth.nn.infogan_nets.
                   MnistGenerator`)
    P(S | X), P(C | X) ``D``: one trunk with two heads, real/fake (``D.source``) and the class
                   distribution (``D.classes``)
    Eq. 2          L_S = E[log P(S=real | X_real)] + E[log P(S=fake | X_fake)]
    Eq. 3          L_C = E[log P(C=c | X_real)] + E[log P(C=c | X_fake)]
    D maximises L_S + L_C: the D phase minimises ``real`` + ``fake`` (= -L_S) + ``cls_real`` +
                   ``cls_fake`` (= -L_C, weight ``lambda_cls``)
    G maximises L_C - L_S: the G phase minimises ``cls`` (-L_C's fake term; the real term does
                   not depend on G) + ``gan``. With ``saturating: true`` ``gan`` is the published
                   L_S fake term log P(S=fake | X_fake) itself; by default it is the
                   non-saturating -log P(S=real | X_fake) (Goodfellow et al. 2014), which has
                   the same fixed point and the usual practice of AC-GAN implementations.

Networks: the paper's are for CIFAR-10 (32 px) and ImageNet (128 px); for the digit domains this
module uses InfoGAN's MNIST networks (:mod:`transynth.nn.infogan_nets`), so InfoGAN and AC-GAN
compare on the same G and D, with the paper's discriminator choices: leaky ReLU slope 0.2 and
dropout 0.5 after each trunk layer.

Defaults and where they come from:
    noise_dim 100, z ~ N(0, 1)         the paper's CIFAR-10 generator (110 = 100 noise + 10
                                       classes)
    lambda_cls 1.0                     the paper's unweighted L_S + L_C
    Adam lr 2e-4, beta1 0.5, batch 100 (paper preset)   the paper
    leak 0.2, dropout 0.5 in D         the paper's discriminators

One training step is ("d", "g"), each phase on freshly drawn noise and classes. With
``joint_batch`` (default) D judges the real and the generated images of a phase as ONE batch, in
both phases (as e.g. the Keras AC-GAN example trains D on the concatenated batch): with two
separate batches, the batch norm of D's trunk normalises each batch by its own statistics and
hides their difference in overall intensity; on the digits this kept G producing gray textures
for hundreds of steps at lr 2e-4 (tested on the CPU preset). ``joint_batch: false`` gives the
separate batches of InfoGAN's reference code.

Deliberate departures: tanh outputs in [-1, 1]; G starts at ``image_size / 4`` (the CPU preset
trains at 32 px to match the cached digit evaluators); batch norm over D's FC features needs at
least 2 images per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F

from transynth.capabilities import GENERATOR_FROM_NOISE
from transynth.export import IMAGE_OUTPUT, ExportSpec, FunctionGraph, noise_prior
from transynth.losses import discriminator_loss, generator_loss
from transynth.models.base import Method, OptimizerSpec, judge_real_and_fake, to_rgb
from transynth.models.infogan import FIGURE_SEED
from transynth.models.registration import register_model
from transynth.nn import init_weights
from transynth.nn.inference import run_batched
from transynth.nn.infogan_nets import (
    AuxClassifierDiscriminator,
    MnistGenerator,
    MnistTrunk,
    check_quarter_size,
    fake_count,
)
from transynth.nn.init import INITS
from transynth.runconfig import check

NOISES = ("normal", "uniform")


@dataclass(frozen=True)
class ACGANConfig:
    noise_dim: int = 100
    noise: str = "normal"  # normal N(0, 1) | uniform(-1, 1)
    lambda_cls: float = 1.0
    saturating: bool = False  # True: G minimises the published log P(S=fake | X_fake)
    ngf: int = 64
    ndf: int = 64
    g_fc: int = 1024
    d_fc: int = 1024
    leak: float = 0.2
    dropout: float = 0.5  # after each leaky ReLU of D's trunk
    fake_batch: int = 0  # images generated per phase; 0: as many as real images (the paper)
    joint_batch: bool = True  # D judges real and generated images in one batch (see docstring)
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    init: str = "normal"
    init_gain: float = 0.02

    def __post_init__(self) -> None:
        check(self.noise in NOISES, "model.noise", self.noise, " | ".join(NOISES))
        check(self.init in INITS, "model.init", self.init, " | ".join(INITS))
        check(self.noise_dim >= 1, "model.noise_dim", self.noise_dim, "an integer >= 1")
        sizes = (self.ngf, self.ndf, self.g_fc, self.d_fc)
        check(min(sizes) >= 1, "model.ngf/ndf/g_fc/d_fc", sizes, "integers >= 1")
        check(self.lambda_cls >= 0, "model.lambda_cls", self.lambda_cls, "a weight >= 0")
        check(self.lr > 0, "model.lr", self.lr, "a positive float")
        check(0 <= self.dropout < 1, "model.dropout", self.dropout, "in [0, 1)")
        check(self.fake_batch >= 0, "model.fake_batch", self.fake_batch, "an integer >= 0")
        check(self.leak >= 0, "model.leak", self.leak, "a slope >= 0")


@register_model("acgan")
class ACGAN(Method):
    Config = ACGANConfig
    # interpretable: the factor is the class the labels name
    capabilities = replace(GENERATOR_FROM_NOISE, unsupervised="no", interpretable=True)
    default_task = "mnist"
    network_names = ("G", "D")
    # D learns the real classes; G and D agree on the generated ones
    monitored_losses = ("d/cls_real", "g/cls")
    # The evaluator recognises the requested class, then FID/KID of samples; a class grid
    evaluation = ("conditional", "generation")
    figures = ("class_grid",)

    def __init__(self, config: ACGANConfig, domains, image_size: int) -> None:
        super().__init__(config, domains, image_size)
        c = config
        check_quarter_size(image_size, "acgan")
        info = domains[0]
        if not info.num_classes or info.num_classes < 2:
            raise ValueError(
                f"acgan needs class labels: domain {info.name!r} has "
                f"{info.num_classes or 'no'} classes; train it on a classes task with >= 2 "
                "classes (e.g. --data mnist, or a folder with one subfolder per class)"
            )
        self.num_classes = int(info.num_classes)
        self.G = MnistGenerator(
            c.noise_dim + self.num_classes, info.channels, image_size, c.ngf, c.g_fc
        )
        trunk = MnistTrunk(info.channels, image_size, c.ndf, c.d_fc, c.leak, c.dropout)
        self.D = AuxClassifierDiscriminator(trunk, self.num_classes)
        for net in self.networks().values():
            init_weights(net, c.init, c.init_gain)

    # ---- latents -----------------------------------------------------------------------------
    def _noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        if self.config.noise == "uniform":
            return torch.rand(n, self.config.noise_dim, generator=generator) * 2 - 1
        return torch.randn(n, self.config.noise_dim, generator=generator)

    def _latent(self, noise: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """G's input [z, one-hot(c)] on the model's device."""
        onehot = F.one_hot(labels.long().cpu(), self.num_classes).float()
        return torch.cat([noise, onehot], 1).to(self.device)

    def _draw(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Noise and uniformly drawn classes from the global RNG, on the CPU."""
        noise = self._noise(n)
        return noise, torch.randint(0, self.num_classes, (n,))

    def _generate(
        self, noise: torch.Tensor, labels: torch.Tensor, batch_size: int = 500
    ) -> torch.Tensor:
        """G's images in eval mode, on the CPU in float32."""
        return run_batched(
            lambda z, y: self.G(self._latent(z, y)), (noise, labels), batch_size, module=self
        )

    # ---- protocol ----------------------------------------------------------------------------
    def optimizers(self) -> dict[str, OptimizerSpec]:
        c = self.config
        betas = (c.beta1, c.beta2)
        return {"d": OptimizerSpec(("D",), c.lr, betas), "g": OptimizerSpec(("G",), c.lr, betas)}

    def phases(self, step: int) -> tuple[str, ...]:
        return ("d", "g")

    def step(self, phase: str, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if phase == "d":
            return self.d_step(batch)
        if phase == "g":
            return self.g_step(batch)
        raise ValueError(f"acgan has phases d and g, not {phase!r}")

    def d_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        c = self.config
        real, labels = batch["image"], batch["label"]
        if bool((labels < 0).any()) or bool((labels >= self.num_classes).any()):
            raise ValueError(
                f"acgan needs a class label in 0..{self.num_classes - 1} for every training "
                f"image; got labels {sorted(set(labels.tolist()))}"
            )
        noise, fake_labels = self._draw(fake_count(real.shape[0], c.fake_batch, "acgan", phase="d"))
        with torch.no_grad():  # G is not updated in this phase: no graph through it
            fake = self.G(self._latent(noise, fake_labels))
        judged = judge_real_and_fake(self.D, real, fake, self.config.joint_batch)
        (real_score, real_logits), (fake_score, fake_logits) = judged
        real_loss, fake_loss = discriminator_loss("vanilla", real_score, fake_score)  # -L_S
        fake_labels = fake_labels.to(fake_logits.device)
        return {
            "real": real_loss,
            "fake": fake_loss,
            "cls_real": c.lambda_cls * F.cross_entropy(real_logits.float(), labels.long()),
            "cls_fake": c.lambda_cls * F.cross_entropy(fake_logits.float(), fake_labels),
        }

    def g_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        c = self.config
        n = fake_count(batch["image"].shape[0], c.fake_batch, "acgan", phase="g")
        noise, fake_labels = self._draw(n)
        fake = self.G(self._latent(noise, fake_labels))
        if self.config.joint_batch:  # the real images only share D's batch statistics here
            _, (score, logits) = judge_real_and_fake(self.D, batch["image"], fake, True)
        else:
            score, logits = self.D(fake)
        if c.saturating:  # minimise L_S's fake term log P(S=fake | X_fake) = -BCE(score, 0)
            gan = -F.binary_cross_entropy_with_logits(
                score.float(), torch.zeros_like(score.float())
            )
        else:
            gan = generator_loss("vanilla", score)
        cls = F.cross_entropy(logits.float(), fake_labels.to(logits.device))
        return {"gan": gan, "cls": c.lambda_cls * cls}

    # ---- sampling ----------------------------------------------------------------------------
    def _labels(self, n: int, labels: Any, generator: torch.Generator | None) -> torch.Tensor:
        """(n,) classes: drawn uniformly when None, else one class for all or one per image."""
        if labels is None:
            return torch.randint(0, self.num_classes, (n,), generator=generator)
        if isinstance(labels, bool):
            raise ValueError(f"labels={labels!r} is not a class index")
        if isinstance(labels, int):
            out = torch.full((n,), labels, dtype=torch.long)
        else:
            values = labels if isinstance(labels, torch.Tensor) else torch.tensor(list(labels))
            if values.is_floating_point() and not bool((values == values.round()).all()):
                raise ValueError(f"labels must be integer class indices, got {labels!r}")
            out = values.long().reshape(-1).cpu()
            if len(out) != n:
                raise ValueError(f"got {len(out)} labels for n={n} images; give one or n labels")
        bad = out[(out < 0) | (out >= self.num_classes)]
        if len(bad):
            raise ValueError(
                f"label {int(bad[0])} is out of range; this acgan has classes 0.."
                f"{self.num_classes - 1} ({', '.join(self.class_names())})"
            )
        return out

    def class_names(self) -> Sequence[str]:
        names = self.domains[0].class_names
        return (
            names if len(names) == self.num_classes else [str(i) for i in range(self.num_classes)]
        )

    def sample(
        self,
        n: int,
        *,
        labels: int | Sequence[int] | torch.Tensor | None = None,
        codes: dict[str, float] | None = None,
        seed: int | None = None,
    ) -> torch.Tensor:
        """`n` images of class `labels` (one for all, or one per image; uniform when None). The
        same seed gives the same noise whatever the labels, so one draw can be shown in every
        class."""
        if codes:
            raise ValueError(
                f"acgan has no latent codes (got {', '.join(codes)}); choose the class with "
                "labels=K (--label K)"
            )
        if n < 1:
            raise ValueError(f"n={n}: the number of images must be at least 1")
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        noise = self._noise(n, gen)  # noise first: the same seed, the same noise for any label
        return self._generate(noise, self._labels(n, labels, gen))

    def sampler_export_spec(self) -> ExportSpec:
        """G as a graph of (noise, label): label (N,) int64 class indices."""
        gen = torch.Generator().manual_seed(0)
        noise = self._noise(4, gen)
        labels = torch.arange(4) % self.num_classes
        return ExportSpec(
            module=FunctionGraph(self, lambda z, y: self.G(self._latent(z, y))),
            inputs={"noise": noise.to(self.device), "label": labels.to(self.device)},
            outputs=("image",),
            contract={
                "computes": "images of the requested classes from noise",
                "inputs": {
                    "noise": {"prior": noise_prior(self.config.noise)},
                    "label": {"values": list(self.class_names())},
                },
                "outputs": {"image": IMAGE_OUTPUT},
            },
        )

    # ---- figures and evaluation --------------------------------------------------------------
    def class_grid(self, rows: int) -> tuple[torch.Tensor, int]:
        """Images (rows * classes): row r holds fixed noise draw r, the class varies along it."""
        noise = self._noise(rows, torch.Generator().manual_seed(FIGURE_SEED))
        labels = torch.arange(self.num_classes).repeat(rows)
        return self._generate(
            noise.repeat_interleave(self.num_classes, 0), labels
        ), self.num_classes

    @torch.no_grad()
    def visualize(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        """One row per batch image: the real image, then every class on the row's fixed noise."""
        real = batch["image"]
        rows = real.shape[0]
        fake, k = self.class_grid(rows)
        fake = fake.view(rows, k, *real.shape[1:])
        grid = torch.cat([real.float().cpu().unsqueeze(1), fake], 1).flatten(0, 1)
        return to_rgb(grid), k + 1

    def class_samples(self, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """One image of each class in `labels`, the noise drawn with `generator`."""
        return self._generate(self._noise(len(labels), generator), labels)

    def prior_samples(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """`n` images of uniformly drawn classes, classes then noise drawn with `generator`."""
        labels = torch.randint(0, self.num_classes, (n,), generator=generator)
        return self._generate(self._noise(n, generator), labels)
