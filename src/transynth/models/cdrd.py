"""CDRD: cross-domain representation disentanglement (E-CDRD builds on it).

Liu, Yeh, Fu, Wang, Chiu, Wang. "Detach and Adapt: Learning Cross-Domain Disentangled Deep
Representation." CVPR 2018. The last row of the lecture's comparison table: unpaired data, several
domains, both directions, one joint representation, an attribute that is learned with labels in the
source domain only (partially unsupervised) and whose meaning is known (interpretable).

Paper / lecture -> code (S = source = ``batch["A"]`` with ``label_A``; T = target = ``batch["B"]``,
whose labels are never read during training):
    z ~ N(0, I), l~          ``z_dim`` noise and a one-hot attribute (the source's classes)
    G_C                      ``G_C``: the shared high-level generator layers, input [z, l~]
    G_S, G_T                 ``G_S``, ``G_T``: domain-specific low-level output layers;
                             X~_S = G_S(G_C(z, l~)), X~_T = G_T(G_C(z, l~)) from the SAME (z, l~)
    D_S, D_T                 ``D_S``, ``D_T``: domain-specific low-level input layers
    D_C                      ``D_C``: the shared trunk with a real/fake head and an attribute head
    L_GAN^S, L_GAN^T         ``real_S``/``fake_S``/``real_T``/``fake_T`` (D) and ``gan_S``/``gan_T``
                             (G): E[log D_C(D_S(X_S))] + E[log(1 - D_C(D_S(X~_S)))], the same
                             through D_T; the generator takes the non-saturating form
    L_cls^S (AC-GAN)         ``cls_real_S`` = -log P(l = l_S | X_S) and ``cls_fake_S`` =
                             -log P(l = l~ | X~_S), through D_S + D_C
    L_cls^T (InfoGAN)        ``cls_fake_T`` = -log P(l = l~ | X~_T), through D_T + D_C: target
                             images are classified only as the generator's own samples
    min_G max_D L_GAN + L_cls  D minimises its GAN terms plus all L_cls terms; G minimises its GAN
                             terms plus the L_cls terms on its samples (both want the attribute
                             recognisable), weight ``lambda_cls`` = 1.

E-CDRD (``ecdrd``, :mod:`transynth.models.ecdrd`) adds encoders and translation.

Cross-domain classification (the paper's domain-adaptation result): the attribute head classifies
real target images through D_T + D_C (``classify``: ``target_test_accuracy`` on the held-out target
test split, ``target_train_accuracy_transductive`` on the unlabelled target training images, the
paper's protocol). A source-only baseline is trained in the same run (``C_src``: the same D_S + D_C
architecture with only the attribute head, its own ``src`` phase, cross-entropy on labelled source
images only) and reported as ``source_only/...``.

Defaults from the paper's digit setting and its reference code (ycliu93/CDRD): z in R^100, a
10-way one-hot attribute, G of transposed convolutions whose last layer only is domain-specific
(``g_private_layers`` = 1), D LeNet-like (conv 20 -> pool -> conv 50 -> pool -> conv 500 -> FC
500) whose first conv only is domain-specific (``d_private_layers`` = 1), vanilla GAN objective,
Adam lr 8e-5 betas (0.5, 0.999), batch 32, lambda = 1; the reference code halves the real/fake and
classification terms of each domain ((real + fake) / 2), kept here.

Presets: ``paper`` is the reference scale (28 px, the reference's G layout, ngf 128, lr 8e-5,
100k steps). ``cpu`` keeps the
architecture at 32 px with ngf 32 and raises lr to 5e-4 for its 800 steps (the reference trains for
about 600k iterations; at 8e-5 the attribute does not control generation within 800 steps).

Evaluation (``evaluation``, run by the evaluation layer's ``evaluate``): ``target_test_accuracy``,
``target_train_accuracy_transductive``, ``source_test_accuracy`` (D's attribute head), the same
under ``source_only/`` (the baseline),
``joint/{domain}/conditional_accuracy`` (the domain's evaluator on X~ generated for each label
agrees with that label) and ``joint/pair_agreement`` (both evaluators give a pair the same class);
E-CDRD adds its translation metrics.

Deliberate departures:
- Batch norm in G (``g_norm``; the reference code has none): CoGAN's digit G, which CDRD builds
  on, uses it, and it trains faster at the small CPU budget.
- G's layout (``g_layout``). ``reference`` (the paper preset, 28 px only) is the reference
  code's G: the code [z, l] as a 1x1 map, four shared up-convolutions 1 -> 2 -> 5 -> 12 -> 25
  of widths 8/4/2/1 x ``ngf`` (1024-512-256-128 at ``ngf`` 128; kernels 2, 3, 3, 3, stride 2)
  and a private 4x4 stride-1 up-convolution to 28 px with tanh: 6.65 M shared parameters at
  z_dim 100 with 10 classes, as the reference. ``dcgan`` (the default, and the CPU preset at
  32 px) projects [z, l] with a fully connected layer to a 4x4 (7x7 at 28 px) map of
  2^(n-1) x ``ngf`` channels and doubles it n times with 4x4 up-convolutions: 32 px gives
  FC -> 4x4x128 -> 8x8x64 -> 16x16x32 -> 32 at ``ngf`` 32, and at 28 px with ``ngf`` 128 only
  FC -> 7x7x256 -> 14x14x128 -> 28 (1.9 M parameters), which is why the paper preset uses
  ``reference``; any size of the form s x 2^k works with ``dcgan``. Counts:
  ``python benchmarks/cdrd_generator_size.py``.
- LeakyReLU after D's second conv and its FC layer (the reference leaves both linear; two stacked
  linear layers add nothing); optional dropout before the heads (``dropout``, default 0).
- The image size is a config value (32 px by default, 28 in the reference); with ``g_layout``
  ``dcgan`` G starts from a projected 4x4 (or 7x7 at 28 px) map and doubles its size per layer.
- ``tied_init`` (off by default): the target-specific layers G_T, D_T (and E-CDRD's E_T) start as
  copies of the source ones (``nn.init.copy_init``; across 1 <-> 3 channels a gray image repeated
  over RGB gets the same response), so that at step 0 (z, l) renders one image in both domains
  and D's attribute head reads target images as it reads source ones. Only the starting point
  changes, not the objective (the reference code initialises them independently). Measured on
  the CPU preset (mnist2uci, 800 steps): target test accuracy 49.9% vs 48.8% untied, UCI pairs
  right 54.8% vs 50.0%, i.e. no clear gain at that budget, so it is off by default.
- Plain CDRD has no encoder; it translates a given image by inverting G (CoGAN's cross-domain
  transformation, Liu & Tuzel 2016): z* = argmin_z ||G_S(G_C(z, l)) - x||^2 (``invert_steps``
  Adam steps), then X~_T = G_T(G_C(z*, l)). E-CDRD's encoder does this in one pass.
- ``source_augment`` (off by default; not in the paper): L_cls^S's real-image term and the
  source-only baseline read labelled sources through ``nn.augment.geometric_jitter`` (random
  scale, aspect, rotation and shift, symmetric around the identity), appended to D's source pass
  so that the real/fake term still sees the sources as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from transynth.capabilities import UNPAIRED_BIDIRECTIONAL
from transynth.losses import (
    GAN_MODES,
    discriminator_loss,
    generator_loss,
    labelled_cross_entropy,
)
from transynth.models.adaptation_data import check_labelled_source, without_target_labels
from transynth.models.base import Method, OptimizerSpec
from transynth.models.cdrd_inference import CDRDInference
from transynth.models.registration import register_model
from transynth.nn import init_weights
from transynth.nn.augment import geometric_jitter
from transynth.nn.cdrd_nets import (
    SharedTrunk,
    SourceOnlyClassifier,
    generator_layers,
    lenet_layers,
    reference_generator_layers,
)
from transynth.nn.init import INITS, copy_init
from transynth.runconfig import check

#: The lecture's comparison table, last row: unpaired, multi-domain, bi-direction, joint
#: representation, partially unsupervised, interpretable.
CDRD_CAPABILITIES = replace(
    UNPAIRED_BIDIRECTIONAL,
    multi_domain=True,
    joint_representation=True,
    disentangles=True,
    unsupervised="partially",
    interpretable=True,
)

G_NORMS = ("batch", "none")
#: G's layer layouts by ``model.g_layout`` (see the module docstring).
G_LAYOUTS = {"dcgan": generator_layers, "reference": reference_generator_layers}


@dataclass(frozen=True)
class CDRDConfig:
    z_dim: int = 100
    ngf: int = 128  # channels of the last shared G layer; doubled per layer towards the input
    g_norm: str = "batch"
    g_private_layers: int = 1  # domain-specific G layers at the output (reference: 1)
    g_layout: str = "dcgan"  # dcgan (projection, then 2x up-convs) | reference (28 px only)
    # LeNet-like D convs (three ints, not a tuple: a tuple would not survive the JSON round trip
    # that resuming compares)
    d_conv1: int = 20
    d_conv2: int = 50
    d_conv3: int = 500
    emb_dim: int = 500  # D's FC layer before the heads
    d_private_layers: int = 1  # domain-specific D layers at the input (reference: 1), 1..3
    dropout: float = 0.0  # before D's heads
    gan_mode: str = "vanilla"
    lambda_cls: float = 1.0
    lr: float = 8e-5
    beta1: float = 0.5
    beta2: float = 0.999
    source_only: bool = True  # train the source-only baseline classifier in the same run
    tied_init: bool = False  # target-specific layers start as copies of the source ones
    source_augment: bool = False  # geometric jitter of the labelled sources the classifiers read
    invert_steps: int = 200  # CDRD translation: Adam steps inverting G for a given image
    init: str = "normal"
    init_gain: float = 0.02

    def __post_init__(self) -> None:
        check(self.z_dim >= 1, "model.z_dim", self.z_dim, "an integer >= 1")
        check(self.ngf >= 1, "model.ngf", self.ngf, "an integer >= 1")
        check(self.g_norm in G_NORMS, "model.g_norm", self.g_norm, " | ".join(G_NORMS))
        check(self.g_layout in G_LAYOUTS, "model.g_layout", self.g_layout, " | ".join(G_LAYOUTS))
        check(self.g_private_layers >= 1, "model.g_private_layers", self.g_private_layers, ">= 1")
        widths = (self.d_conv1, self.d_conv2, self.d_conv3)
        check(min(widths) >= 1, "model.d_conv1/2/3", widths, "positive channel counts")
        check(self.emb_dim >= 1, "model.emb_dim", self.emb_dim, "an integer >= 1")
        check(
            1 <= self.d_private_layers <= 3,
            "model.d_private_layers",
            self.d_private_layers,
            "1, 2 or 3 (the FC layer and the heads are always shared)",
        )
        check(0.0 <= self.dropout < 1.0, "model.dropout", self.dropout, "in [0, 1)")
        check(self.gan_mode in GAN_MODES, "model.gan_mode", self.gan_mode, " | ".join(GAN_MODES))
        check(self.lambda_cls >= 0, "model.lambda_cls", self.lambda_cls, "a weight >= 0")
        check(self.lr > 0, "model.lr", self.lr, "a learning rate > 0")
        check(self.invert_steps >= 0, "model.invert_steps", self.invert_steps, "an integer >= 0")
        check(self.init in INITS, "model.init", self.init, " | ".join(INITS))


# ---- the method ------------------------------------------------------------------------------
@register_model("cdrd")
class CDRD(CDRDInference, Method):
    Config = CDRDConfig
    capabilities = CDRD_CAPABILITIES
    default_task = "mnist2uci"
    network_names: tuple[str, ...] = ("G_C", "G_S", "G_T", "D_S", "D_T", "D_C", "C_src")
    monitored_losses: tuple[str, ...] = ("d/cls_real_S", "src/cls_S")
    conditions = ("label",)
    # Cross-domain classification (D's attribute head, then the same-run source-only baseline)
    # and the jointly generated pairs judged in each domain; see the module docstring.
    evaluation: tuple[str, ...] = ("adaptation", "source_only", "joint")
    figures: tuple[str, ...] = ("feature_tsne", "joint_samples")
    translation_export_blocker = (
        "it translates by optimising each image's latent code (G inversion), which is not a "
        "graph; export its sampler (--sampler) or train ecdrd, which translates with an encoder"
    )

    def __init__(self, config: CDRDConfig, domains, image_size: int) -> None:
        super().__init__(config, domains, image_size)
        c = config
        if len(self.domains) != 2:
            raise ValueError(f"{self.name} needs a source and a target domain, got {len(domains)}")
        src, tgt = self.domains
        if not src.num_classes:
            raise ValueError(
                f"{self.name} learns its attribute from the source domain's labels, but "
                f"{src.name!r} has no classes; use a labelled source domain (domain A)"
            )
        self.num_classes = int(src.num_classes)
        k = self.num_classes
        norm = c.g_norm == "batch"

        def g_layers(channels: int) -> list[nn.Module]:
            build = G_LAYOUTS[c.g_layout]
            return build(c.z_dim + k, channels, image_size, c.ngf, norm)

        def d_layers(channels: int) -> list[nn.Module]:
            return lenet_layers(
                channels, image_size, (c.d_conv1, c.d_conv2, c.d_conv3), c.emb_dim, c.dropout
            )

        n_g = len(g_layers(1))
        if c.g_private_layers > n_g:
            raise ValueError(
                f"model.g_private_layers={c.g_private_layers} but G has {n_g} layers at "
                f"{image_size} px; accepted: 1..{n_g}"
            )
        cut = n_g - c.g_private_layers
        self.G_C = nn.Sequential(*g_layers(src.channels)[:cut])
        self.G_S = nn.Sequential(*g_layers(src.channels)[cut:])
        self.G_T = nn.Sequential(*g_layers(tgt.channels)[cut:])
        p = c.d_private_layers
        self.D_S = nn.Sequential(*d_layers(src.channels)[:p])
        self.D_T = nn.Sequential(*d_layers(tgt.channels)[:p])
        self.D_C = SharedTrunk(d_layers(src.channels)[p:], c.emb_dim, k)
        self.C_src = SourceOnlyClassifier(d_layers(src.channels), c.emb_dim, k)
        self._build_extra(d_layers)
        for net in self.networks().values():
            init_weights(net, c.init, c.init_gain)
        if c.tied_init:
            for dst, src_net in self._tied_pairs():
                copy_init(dst, src_net)
        self._fakes: dict[str, torch.Tensor] | None = None

    @classmethod
    def check_task(cls, config: CDRDConfig, task) -> None:
        check_labelled_source(cls.name, task, "learns its attribute from the source's labels")

    def _tied_pairs(self) -> list[tuple[nn.Module, nn.Module]]:
        """(target-specific, source-specific) layers that ``tied_init`` starts equal."""
        return [(self.G_T, self.G_S), (self.D_T, self.D_S)]

    def _build_extra(self, d_layers: Any) -> None:
        """Hook for E-CDRD's encoders."""

    # ---- building blocks ---------------------------------------------------------------------
    def generate(self, z: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The joint pair (X~_S, X~_T) = (G_S(G_C(z, l)), G_T(G_C(z, l)))."""
        h = self.G_C(self._code(z, labels))
        return self.G_S(h), self.G_T(h)

    def _code(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return torch.cat([z, F.one_hot(labels, self.num_classes).to(z.dtype)], 1)

    def _render(self, z: torch.Tensor, labels: torch.Tensor, domain: int) -> torch.Tensor:
        """One domain's image of (z, l)."""
        return (self.G_S if domain == 0 else self.G_T)(self.G_C(self._code(z, labels)))

    def discriminate(
        self, x: torch.Tensor, domain: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """D_C(D_S(x)) or D_C(D_T(x)): (real/fake logit, attribute logits, features)."""
        return self.D_C((self.D_S if domain == 0 else self.D_T)(x))

    def _noise(self, n: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        z = torch.randn(n, self.config.z_dim, device=device)
        return z, torch.randint(0, self.num_classes, (n,), device=device)

    # ---- training ----------------------------------------------------------------------------
    def optimizers(self) -> dict[str, OptimizerSpec]:
        c = self.config
        betas = (c.beta1, c.beta2)
        specs = {
            "g": OptimizerSpec(self._g_networks(), c.lr, betas),
            "d": OptimizerSpec(("D_S", "D_T", "D_C"), c.lr, betas),
        }
        if c.source_only:
            specs["src"] = OptimizerSpec(("C_src",), c.lr, betas)
        return specs

    def _g_networks(self) -> tuple[str, ...]:
        return ("G_C", "G_S", "G_T")

    def phases(self, step: int) -> tuple[str, ...]:
        # G first, then D on the same samples (the reference code's order); then the baseline.
        return ("g", "d", "src") if self.config.source_only else ("g", "d")

    def step(self, phase: str, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        batch = without_target_labels(batch)  # evaluation alone reads the target's labels
        if phase == "g":
            return self.g_step(batch)
        if phase == "d":
            return self.d_step(batch)
        if phase == "src" and self.config.source_only:
            x_s = geometric_jitter(batch["A"]) if self.config.source_augment else batch["A"]
            return {"cls_S": labelled_cross_entropy(self.C_src(x_s), batch["label_A"])}
        raise ValueError(f"{self.name} has phases {', '.join(self.phases(0))}, not {phase!r}")

    def _generated(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Images D sees as fake, per domain, with the attribute each should show (-1: none)."""
        z, labels = self._noise(batch["A"].shape[0], batch["A"].device)
        fake_s, fake_t = self.generate(z, labels)
        return {"S": fake_s, "T": fake_t, "label_S": labels, "label_T": labels}

    def g_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        c = self.config
        fakes = self._generated(batch)
        # The D phase reuses these samples; detached so that its backward stops at D.
        self._fakes = {k: v.detach() for k, v in fakes.items()}
        adv_s, cls_s, _ = self.discriminate(fakes["S"], 0)
        adv_t, cls_t, _ = self.discriminate(fakes["T"], 1)
        half = 0.5 * c.lambda_cls  # the reference code halves each classification term
        return {
            "gan_S": generator_loss(c.gan_mode, adv_s),
            "gan_T": generator_loss(c.gan_mode, adv_t),
            # L_cls^S on the generated source images, L_cls^T (InfoGAN-style) on the targets
            "cls_fake_S": half * labelled_cross_entropy(cls_s, fakes["label_S"]),
            "cls_fake_T": half * labelled_cross_entropy(cls_t, fakes["label_T"]),
        }

    def d_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        c = self.config
        fakes = self._fakes
        self._fakes = None
        if fakes is None:  # D phase without a preceding G phase: sample without gradients
            with torch.no_grad():
                fakes = self._generated(batch)
        # One pass per domain over real and fake images together (D has no batch statistics).
        n_s, n_t = len(batch["A"]), len(batch["B"])
        # With source_augment, jittered copies of the real sources join the pass for the
        # attribute term only: the real/fake term keeps the sources as they are.
        extra = [geometric_jitter(batch["A"])] if c.source_augment else []
        adv_s, cls_s, _ = self.discriminate(torch.cat([batch["A"], fakes["S"], *extra]), 0)
        adv_t, cls_t, _ = self.discriminate(torch.cat([batch["B"], fakes["T"]]), 1)
        end = n_s + len(fakes["S"])
        adv_rs, adv_fs, cls_fs = adv_s[:n_s], adv_s[n_s:end], cls_s[n_s:end]
        cls_rs = cls_s[end:] if c.source_augment else cls_s[:n_s]
        adv_rt, adv_ft, cls_ft = adv_t[:n_t], adv_t[n_t:], cls_t[n_t:]  # no target labels
        real_s, fake_s = discriminator_loss(c.gan_mode, adv_rs, adv_fs)
        real_t, fake_t = discriminator_loss(c.gan_mode, adv_rt, adv_ft)
        half = 0.5 * c.lambda_cls
        return {
            "real_S": 0.5 * real_s,
            "fake_S": 0.5 * fake_s,
            "real_T": 0.5 * real_t,
            "fake_T": 0.5 * fake_t,
            # L_cls^S on labelled sources
            "cls_real_S": half * labelled_cross_entropy(cls_rs, batch["label_A"]),
            "cls_fake_S": half * labelled_cross_entropy(cls_fs, fakes["label_S"]),
            "cls_fake_T": half * labelled_cross_entropy(cls_ft, fakes["label_T"]),
        }
