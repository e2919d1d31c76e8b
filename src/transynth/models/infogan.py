"""InfoGAN: unsupervised disentanglement by maximising mutual information with latent codes.

Chen, Duan, Houthooft, Schulman, Sutskever, Abbeel. "InfoGAN: Interpretable Representation
Learning by Information Maximizing Generative Adversarial Nets." NeurIPS 2016.

Paper -> code:
    z              incompressible noise, ``noise_dim`` (62 for MNIST), uniform(-1, 1) as in the
                   reference code's ``Uniform(62)``
    c              latent codes, layout ``model.codes`` (MNIST: ``"cat:10,cont:2"``: one 10-way
                   categorical code and two continuous uniform(-1, 1) codes); named c1, c2, ... in
                   layout order (``code_names``); G's input is [z, one-hot(c_cat)..., c_cont...]
    G(z, c)        ``G`` (:class:`transynth.nn.infogan_nets.MnistGenerator`)
    D              ``D``: the shared trunk (:class:`~transynth.nn.infogan_nets.MnistTrunk`) and
                   the real/fake head FC 1
    Q(c | x)       ``Q``: FC 128-BN-lReLU-FC on D's trunk features (Q shares D's trunk); logits
                   for each categorical code, a factored Gaussian (mean and log std) for the
                   continuous codes
    Eq. 1          V(D, G): the GAN value, ``real`` + ``fake`` in the D phase and the
                   non-saturating ``gan`` term in the G phase (the reference code's choice)
    Eq. 4-6        L_I(G, Q) = E[log Q(c | G(z, c))] + H(c) <= I(c; G(z, c)): the lower bound of
                   the mutual information; -L_I without the constant H(c) is ``info_cat`` (cross
                   entropy of each categorical code) + ``info_cont`` (Gaussian negative
                   log-likelihood of each continuous code), weighted by ``lambda_cat`` and
                   ``lambda_cont``
    Eq. 6          min_{G,Q} max_D V(D, G) - lambda L_I(G, Q): the D phase updates D and Q (the
                   reference code puts Q's variables with D's) on ``real + fake + info``; the G
                   phase updates G on ``gan + info`` (D and Q frozen, gradients flow through
                   them into G)

Networks: the paper's MNIST architecture (Appendix C, Table 1): G: FC 1024-BN-ReLU, FC 7x7x128
-BN-ReLU, 4x4 up-conv 64 stride 2 BN-ReLU, 4x4 up-conv 1 stride 2; D/Q trunk: 4x4 conv 64 stride 2
lReLU, 4x4 conv 128 stride 2 BN lReLU, FC 1024 BN lReLU; D: FC 1; Q: FC 128-BN-lReLU-FC; leaky
ReLU slope 0.1; N(0, 0.02) init.

Defaults and where they come from:
    codes "cat:10,cont:2", noise_dim 62      the paper's MNIST experiment
    lambda_cat 1.0                           the paper ("lambda = 1 for discrete codes")
    cont_std "fixed", lambda_cont 1.0        the reference MNIST code: Q(c | x) for continuous
                                             codes is a factored Gaussian with unit std
                                             (``Uniform(1, fix_std=True)``) and the same
                                             coefficient 1, so the term is 0.5 (c - mu)^2 per code
                                             (+ const): "smaller" than the categorical term, as
                                             the paper asks. ``cont_std: learned`` lets Q predict
                                             a log std too (the common re-implementations, with
                                             lambda_cont 0.1); on the CPU preset that variant
                                             let the continuous codes take over part of the
                                             digit identity (matched code accuracy 68%/65% vs
                                             78%/65% with unit std, seeds 0/1)
    lr 2e-4 (D, Q), lr_g 1e-3 (G), Adam beta1 0.5, batch 128 (paper preset)   the paper/code

One training step is ("d", "g"): D and Q first, then G, each phase on freshly drawn noise and codes
(the reference trainer runs its discriminator and generator updates as separate session calls).

Deliberate departures: images are in [-1, 1] with a tanh output (the reference code models MNIST
pixels as Bernoulli means with a sigmoid); the side is ``image_size`` with G starting at
``image_size / 4`` (7 at 28 px as in the paper; the CPU preset uses 32 px, 8x8, matching the
cached digit evaluators). Batch norm over the FC features needs at least 2 images per batch;
``fake_batch`` (0: as many generated images as real ones, the paper) can raise the number of
generated images per phase (the tiny test settings use it: batch norm over 2 samples is
degenerate). ``joint_batch`` (off by default: the reference code's two batches) passes the real
and the generated images through D as one batch in both phases, as AC-GAN does by default here,
so that D's batch norm cannot normalise away their difference.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from transynth.capabilities import GENERATOR_FROM_NOISE
from transynth.export import IMAGE_OUTPUT, ExportSpec, FunctionGraph, noise_prior
from transynth.losses import discriminator_loss, generator_loss
from transynth.models.base import Method, OptimizerSpec, judge_real_and_fake, to_rgb
from transynth.models.infogan_codes import CodeSpace, parse_codes
from transynth.models.registration import register_model
from transynth.nn import init_weights
from transynth.nn.inference import run_batched
from transynth.nn.infogan_nets import (
    InfoDiscriminator,
    MnistGenerator,
    MnistTrunk,
    check_quarter_size,
    fake_count,
)
from transynth.nn.init import INITS
from transynth.runconfig import ConfigError, check

NOISES = ("uniform", "normal")
CONT_STDS = ("learned", "fixed")
#: Seed of the fixed noise of the training sample grids and report figures.
FIGURE_SEED = 1234


@dataclass(frozen=True)
class InfoGANConfig:
    codes: str = "cat:10,cont:2"
    noise_dim: int = 62
    noise: str = "uniform"  # uniform(-1, 1) (reference code) | normal N(0, 1)
    lambda_cat: float = 1.0
    lambda_cont: float = 1.0
    cont_std: str = "fixed"  # fixed: std 1 (reference code) | learned: Q predicts mean, log std
    ngf: int = 64  # G: the up-conv width (the 7x7 layer has 2 ngf channels)
    ndf: int = 64  # D: the first conv width (the second has 2 ndf)
    g_fc: int = 1024
    d_fc: int = 1024
    q_fc: int = 128
    leak: float = 0.1  # leaky ReLU slope in D and Q
    dropout: float = 0.0  # in D's trunk (the paper has none)
    fake_batch: int = 0  # images generated per phase; 0: as many as real images (the paper)
    joint_batch: bool = False  # D judges real and fake images as one batch in both phases
    lr: float = 2e-4  # D and Q
    lr_g: float = 1e-3  # G
    beta1: float = 0.5
    beta2: float = 0.999
    init: str = "normal"
    init_gain: float = 0.02

    def __post_init__(self) -> None:
        try:
            parse_codes(self.codes)
        except ValueError as err:
            raise ConfigError(str(err)) from None
        check(self.noise in NOISES, "model.noise", self.noise, " | ".join(NOISES))
        check(self.cont_std in CONT_STDS, "model.cont_std", self.cont_std, " | ".join(CONT_STDS))
        check(self.init in INITS, "model.init", self.init, " | ".join(INITS))
        check(self.noise_dim >= 0, "model.noise_dim", self.noise_dim, "an integer >= 0")
        sizes = (self.ngf, self.ndf, self.g_fc, self.d_fc, self.q_fc)
        check(min(sizes) >= 1, "model.ngf/ndf/g_fc/d_fc/q_fc", sizes, "integers >= 1")
        check(
            self.lambda_cat >= 0 and self.lambda_cont >= 0,
            "model.lambda_cat/lambda_cont",
            (self.lambda_cat, self.lambda_cont),
            "non-negative weights",
        )
        check(self.lr > 0 and self.lr_g > 0, "model.lr/lr_g", (self.lr, self.lr_g), "positive")
        check(0 <= self.dropout < 1, "model.dropout", self.dropout, "in [0, 1)")
        check(self.fake_batch >= 0, "model.fake_batch", self.fake_batch, "an integer >= 0")
        check(self.leak >= 0, "model.leak", self.leak, "a slope >= 0")


@register_model("infogan")
class InfoGAN(Method):
    Config = InfoGANConfig
    # interpretable False: no guarantee which semantics a code captures
    capabilities = replace(GENERATOR_FROM_NOISE, unsupervised="yes", interpretable=False)
    default_task = "mnist"
    network_names = ("G", "D", "Q")
    # G and Q agree on the categorical code within a few dozen steps (the MI bound tightens)
    monitored_losses = ("g/info_cat",)
    # Each categorical code as a classifier of its samples and read back by Q from real images,
    # then FID/KID of samples; figures: a grid per categorical code, a traversal per continuous
    evaluation = ("codes", "generation")
    figures = ("code_grids", "code_traversals")

    def __init__(self, config: InfoGANConfig, domains, image_size: int) -> None:
        super().__init__(config, domains, image_size)
        c = config
        check_quarter_size(image_size, "infogan")
        self.space = CodeSpace(parse_codes(c.codes), c.noise_dim, c.noise)
        self.codes, self.cat_codes = self.space.codes, self.space.cat_codes
        self.cont_codes = self.space.cont_codes
        channels = domains[0].channels
        latent_dim = c.noise_dim + sum(k.values for k in self.cat_codes) + len(self.cont_codes)
        per_cont = 2 if c.cont_std == "learned" else 1
        q_out = sum(k.values for k in self.cat_codes) + per_cont * len(self.cont_codes)
        self.G = MnistGenerator(latent_dim, channels, image_size, c.ngf, c.g_fc)
        self.D = InfoDiscriminator(
            MnistTrunk(channels, image_size, c.ndf, c.d_fc, c.leak, c.dropout)
        )
        self.Q = nn.Sequential(
            nn.Linear(c.d_fc, c.q_fc),
            nn.BatchNorm1d(c.q_fc),
            nn.LeakyReLU(c.leak, True),
            nn.Linear(c.q_fc, q_out),
        )
        for net in self.networks().values():
            init_weights(net, c.init, c.init_gain)

    @property
    def code_names(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.codes)

    # ---- latents -----------------------------------------------------------------------------
    def _draw(
        self, n: int, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.space.draw(n, generator)

    def _latent(self, noise: torch.Tensor, cat: torch.Tensor, cont: torch.Tensor) -> torch.Tensor:
        """G's input [z, one-hot(c_cat)..., c_cont...] on the model's device."""
        onehots = [F.one_hot(cat[:, i], k.values).float() for i, k in enumerate(self.cat_codes)]
        return torch.cat([noise, *onehots, cont], 1).to(self.device)

    def _generate(
        self,
        noise: torch.Tensor,
        cat: torch.Tensor,
        cont: torch.Tensor,
        batch_size: int = 500,
    ) -> torch.Tensor:
        """G's images for given latents, in eval mode, on the CPU in float32."""
        return run_batched(
            lambda *t: self.G(self._latent(*t)), (noise, cat, cont), batch_size, module=self
        )

    # ---- protocol ----------------------------------------------------------------------------
    def optimizers(self) -> dict[str, OptimizerSpec]:
        c = self.config
        betas = (c.beta1, c.beta2)
        return {
            "d": OptimizerSpec(("D", "Q"), c.lr, betas),
            "g": OptimizerSpec(("G",), c.lr_g, betas),
        }

    def phases(self, step: int) -> tuple[str, ...]:
        return ("d", "g")

    def step(self, phase: str, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if phase == "d":
            return self.d_step(batch)
        if phase == "g":
            return self.g_step(batch)
        raise ValueError(f"infogan has phases d and g, not {phase!r}")

    def info_terms(
        self, q_out: torch.Tensor, cat: torch.Tensor, cont: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """-L_I without H(c): weighted cross entropy of the categorical codes and Gaussian NLL of
        the continuous codes under Q's predictions `q_out` (N, Q outputs)."""
        c = self.config
        ce, nll = self.space.code_nll(q_out.float(), cat, cont, c.cont_std == "learned")
        terms: dict[str, torch.Tensor] = {}
        if ce is not None:
            terms["info_cat"] = c.lambda_cat * ce
        if nll is not None:
            terms["info_cont"] = c.lambda_cont * nll
        return terms

    def d_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        real = batch["image"]
        noise, cat, cont = self._draw(
            fake_count(real.shape[0], self.config.fake_batch, "infogan", phase="d")
        )
        with torch.no_grad():  # G is not updated in this phase: no graph through it
            fake = self.G(self._latent(noise, cat, cont))
        judged = judge_real_and_fake(self.D, real, fake, self.config.joint_batch)
        (real_score, _), (fake_score, features) = judged
        real_loss, fake_loss = discriminator_loss("vanilla", real_score, fake_score)
        # Q (and D's trunk) learn to recover the codes of the fakes: the MI bound w.r.t. Q
        return {
            "real": real_loss,
            "fake": fake_loss,
            **self.info_terms(self.Q(features), cat, cont),
        }

    def g_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        n = fake_count(batch["image"].shape[0], self.config.fake_batch, "infogan", phase="g")
        noise, cat, cont = self._draw(n)
        fake = self.G(self._latent(noise, cat, cont))
        if self.config.joint_batch:  # the real images only share D's batch statistics here
            _, (score, features) = judge_real_and_fake(self.D, batch["image"], fake, True)
        else:
            score, features = self.D(fake)
        return {
            "gan": generator_loss("vanilla", score),
            **self.info_terms(self.Q(features), cat, cont),
        }

    # ---- sampling ----------------------------------------------------------------------------
    def sample(
        self,
        n: int,
        *,
        labels: Any = None,
        codes: dict[str, float] | None = None,
        seed: int | None = None,
    ) -> torch.Tensor:
        """`n` images; `codes` fixes codes by name (``{"c1": 3, "c2": 0.5}``), the others and the
        noise are drawn from the prior (reproducibly with `seed`). The same seed gives the same
        noise whatever codes are fixed, so changing one code value shows its effect alone."""
        if labels is not None:
            raise ValueError(
                "infogan is unsupervised and takes no labels; fix its categorical code instead, "
                f"e.g. codes={{'{self.cat_codes[0].name if self.cat_codes else 'c1'}': 3}} "
                "(--code c1=3); codes: " + ", ".join(k.describe() for k in self.codes)
            )
        if n < 1:
            raise ValueError(f"n={n}: the number of images must be at least 1")
        fixed = self.space.fixed_codes(codes or {})
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        noise, cat, cont = self._draw(n, gen)
        self.space.set_codes(cat, cont, fixed)
        return self._generate(noise, cat, cont)

    def sampler_export_spec(self) -> ExportSpec:
        """G as a graph of (noise, codes_cat, codes_cont); a group without codes is left out."""
        noise, cat, cont = self._draw(4, torch.Generator().manual_seed(0))
        inputs = {"noise": noise}
        described = {"noise": {"prior": noise_prior(self.config.noise)}}
        if self.cat_codes:
            inputs["codes_cat"] = cat
            described["codes_cat"] = {"columns": [k.describe() for k in self.cat_codes]}
        if self.cont_codes:
            inputs["codes_cont"] = cont
            described["codes_cont"] = {"columns": [k.describe() for k in self.cont_codes]}

        def generate(noise: torch.Tensor, *codes: torch.Tensor) -> torch.Tensor:
            given = dict(zip(list(inputs)[1:], codes, strict=True))
            empty = noise[:, :0]  # a missing group: zero columns, built inside the graph
            cat = given.get("codes_cat", empty.long())
            return self.G(self._latent(noise, cat, given.get("codes_cont", empty)))

        return ExportSpec(
            module=FunctionGraph(self, generate),
            inputs={k: v.to(self.device) for k, v in inputs.items()},
            outputs=("image",),
            contract={
                "computes": "images from noise and latent codes",
                "inputs": described,
                "outputs": {"image": IMAGE_OUTPUT},
            },
        )

    # ---- grids and samples the figures and the evaluation read -----------------------------
    def value_grid(self, rows: int, name: str, values: torch.Tensor) -> torch.Tensor:
        """Images (rows * len(values)): row r holds fixed draw r of the noise and codes, the
        code `name` takes `values` along the row."""
        gen = torch.Generator().manual_seed(FIGURE_SEED)
        return self._generate(*self.space.value_grid(rows, name, values, gen))

    def _shown_code(self) -> tuple[str, torch.Tensor]:
        if self.cat_codes:
            k = self.cat_codes[0]
            return k.name, torch.arange(k.values)
        return self.cont_codes[0].name, torch.linspace(-1.0, 1.0, 8)

    @torch.no_grad()
    def visualize(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        """One row per batch image: the real image, then the first categorical code's values
        (the first continuous code from -1 to 1 when there is none) on fixed noise."""
        real = batch["image"]
        name, values = self._shown_code()
        fake = self.value_grid(real.shape[0], name, values).view(
            real.shape[0], len(values), *real.shape[1:]
        )
        grid = torch.cat([real.float().cpu().unsqueeze(1), fake], 1).flatten(0, 1)
        return to_rgb(grid), len(values) + 1

    @property
    def traversal_rows(self) -> int:
        """Rows of a traversal: the values of the first categorical code (8 without one)."""
        return self.cat_codes[0].values if self.cat_codes else 8

    def traversal_samples(
        self, name: str, row_ids: torch.Tensor, values: torch.Tensor
    ) -> torch.Tensor:
        """One image per (row id, value): continuous code `name` at the value, the first
        categorical code at the row id, the noise fixed per row (one of ``traversal_rows``
        fixed draws) and the other continuous codes at 0."""
        gen = torch.Generator().manual_seed(FIGURE_SEED)
        latents = self.space.traversal(name, row_ids, values, self.traversal_rows, gen)
        return self._generate(*latents)

    def samples_with_code(
        self, name: str, values: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        """One image per value of code `name`, the noise and other codes drawn from the prior
        with `generator`."""
        noise, cat, cont = self._draw(len(values), generator)
        self.space.set_codes(cat, cont, {name: values})
        return self._generate(noise, cat, cont)

    def prior_samples(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """`n` images with noise and codes drawn from the prior with `generator`."""
        return self._generate(*self._draw(n, generator))

    def code_probabilities(
        self, images: torch.Tensor, batch_size: int = 500
    ) -> dict[str, torch.Tensor]:
        """Q(c | x) for each categorical code of real `images` (N, C, H, W) in [-1, 1]: the code
        read back as a soft clustering, {code name: (N, values)} float32 on the CPU."""
        if not self.cat_codes:
            return {}

        def read(x: torch.Tensor) -> torch.Tensor:
            return self.Q(self.D(x.to(self.device))[1])

        logits = run_batched(read, images, batch_size, module=self)
        out, start = {}, 0
        for k in self.cat_codes:
            out[k.name] = logits[:, start : start + k.values].softmax(1)
            start += k.values
        return out
