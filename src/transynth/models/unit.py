"""UNIT: unsupervised image-to-image translation through a shared latent space, and its
domain-adaptation variant.

Liu, Breuel, Kautz. "Unsupervised Image-to-Image Translation Networks." NeurIPS 2017.

Paper -> code (the paper's notation; A = domain 1, B = domain 2):
    E1, E2          ``E_A``/``E_B`` (private first layers) then ``E_shared`` (the LAST
                    ``shared_layers`` encoder layers, one module used by both domains: the
                    weight-sharing constraint that makes the latent space shared, Sec. 2)
    G1, G2          ``G_shared`` (the FIRST ``shared_layers`` generator layers) then
                    ``G_A``/``G_B`` (private last layers)
    q(z|x)          N(E(x), I) (Sec. 3: the encoder outputs the mean, the variance is fixed);
                    ``encode(x, domain)`` returns the mean, the shared latent code
    Eq. 3/4         L_VAE = lambda1 KL(q(z|x) || N(0, I)) + lambda2 |G(z) - x|_1, with
                    KL = mean(mu^2) for a unit-variance posterior (the official code's
                    ``__compute_kl``; the Laplacian likelihood gives the L1 term)
    Eq. 5           L_GAN on translations G1(z2), G2(z1): weight lambda0; least squares, as in
                    the official image-translation config (``gan_mode``)
    Eq. 6           L_CC, cycle through the latent space x1 -> z1 -> x12 -> z12 -> x121:
                    lambda3 KL(q(z12|x12)) + lambda4 |x121 - x1|_1
    D1, D2          ``D_A``/``D_B`` (private first layers) + ``D_shared`` (the last
                    ``d_shared_layers`` layers, the real/fake head and the class head)

Loss weights are the paper's (Sec. 4): lambda0 = 10, lambda1 = lambda3 = 0.1, lambda2 = lambda4 =
100. The official image-translation config (REFERENCE.md: gan_w 1, recon_x_w 10, recon_kl_w 0.01,
recon_x_cyc_w 10, recon_kl_cyc_w 0.01) is the same objective divided by 10, for the generator and
the discriminator alike; Adam is invariant to that scale. Adam lr 1e-4, betas (0.5, 0.999), weight
decay 1e-4 and the architecture (E: c7s1 + 2 stride-2 convs + 4 residual blocks; G: 4 residual
blocks + 2 transposed convs + c7s1; one residual block shared on each side) are the official
config's; instance norm in E and G, LeakyReLU discriminators.

Networks (``arch``): ``resnet``, the image-translation networks above (a spatial latent map);
``digits``, the official domain-adaptation code's 32x32 digit networks (``CoVAE32x32`` /
``CoDis32x32``, :mod:`transynth.nn.coupled_digits`): a vector latent code and a LeNet-like
discriminator with max-pooling and dropout, the first encoder / discriminator layer and the last
two decoder layers private.

Domain adaptation (Sec. 5; its class head, feature consistency, the source-only baseline and
their departures): :mod:`transynth.models.unit_adaptation`.

Deliberate departures:
- Order within a step: G phase first, then the D phase on the same (detached) generated images,
  saving a generator forward pass (the official loop updates D first on fresh samples).
- ``arch: digits``: batch norm keeps its learned scale (the official layers have a bias only),
  the encoder's variance stays fixed at 1 (the official DA encoder predicts it), and the real /
  fake head is one logit for the configured GAN loss (the official head is a 2-way softmax, the
  same as ``gan_mode: vanilla``).
- The discriminators' weights start from N(0, 0.02) (xavier in the official DA code).
- The latent code is a spatial map (the official image-translation code's); t-SNE figures
  flatten it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from transynth.capabilities import UNPAIRED_BIDIRECTIONAL
from transynth.losses import GAN_MODES, discriminator_loss, generator_loss
from transynth.models.adaptation_data import without_target_labels
from transynth.models.base import Method, OptimizerSpec
from transynth.models.registration import register_model
from transynth.models.unit_adaptation import UNITAdaptation
from transynth.models.unit_latent import UNITLatentSpace
from transynth.nn import init_weights
from transynth.nn.coupled_digits import (
    DIGIT_SHARED_LAYERS,
    DIGIT_SIZE,
)
from transynth.nn.init import INITS, copy_init
from transynth.nn.norm import NORMS
from transynth.nn.unit_nets import (
    SharedTrunk,
    SourceOnlyClassifier,
    UNITNetShape,
    d_private_of,
    encoder_of,
    generator_of,
)
from transynth.runconfig import check

#: UNIT: unpaired, two domains, both directions, a joint (shared latent) representation.
UNIT_CAPABILITIES = replace(UNPAIRED_BIDIRECTIONAL, joint_representation=True)


#: Network families: ``resnet``, the image-translation networks (spatial latent code); ``digits``,
#: the official domain-adaptation code's 32x32 digit networks (vector latent code, LeNet-like D).
ARCHS = ("resnet", "digits")


@dataclass(frozen=True)
class UNITConfig:
    arch: str = "resnet"
    ngf: int = 64
    n_down: int = 2  # stride-2 convs after the c7s1 stem (transposed convs in G)
    n_res: int = 4  # residual blocks in E and in G
    shared_layers: int = 1  # last E layers / first G layers shared by both domains
    norm: str = "instance"
    ndf: int = 64
    d_layers: int = 4  # stride-2 conv layers of each discriminator
    d_shared_layers: int = 3  # the last of them shared by D_A and D_B
    dropout: float = 0.0  # after each shared discriminator layer (the DA discriminator uses it)
    gan_mode: str = "lsgan"
    lambda_gan: float = 10.0  # lambda0
    lambda_kl: float = 0.1  # lambda1
    lambda_recon: float = 100.0  # lambda2
    lambda_kl_cyc: float = 0.1  # lambda3
    lambda_cyc: float = 100.0  # lambda4
    lambda_cls: float = 10.0  # class head on labelled source images (0: no adaptation)
    lambda_feat: float = 1.0  # feature consistency of corresponding generated images
    feat_distance: str = "l1"  # l1 (the paper's text) | l2 (the official DA code's MSE)
    recon_distance: str = "l1"  # l1 (the paper's Laplacian) | l2 (the official DA code's MSE)
    source_only_baseline: bool = True  # also train S on source labels only (phase "src")
    source_augment: bool = False  # geometric jitter of the labelled sources the classifiers read
    gan_batch: int = 0  # images per domain the VAE-GAN terms use (0: all); classifiers read all
    d_tied_init: bool = True  # D_B's private layers start as a copy of D_A's
    lr: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.999
    weight_decay: float = 1e-4
    baseline_lr: float = 1e-4
    init: str = "kaiming"
    init_gain: float = 0.02

    def __post_init__(self) -> None:
        check(self.arch in ARCHS, "model.arch", self.arch, " | ".join(ARCHS))
        check(self.norm in NORMS, "model.norm", self.norm, " | ".join(NORMS))
        check(self.gan_mode in GAN_MODES, "model.gan_mode", self.gan_mode, " | ".join(GAN_MODES))
        check(self.init in INITS, "model.init", self.init, " | ".join(INITS))
        check(
            self.ngf >= 1 and self.ndf >= 1 and self.n_down >= 0 and self.n_res >= 0,
            "model.ngf/ndf/n_down/n_res",
            (self.ngf, self.ndf, self.n_down, self.n_res),
            "ngf, ndf >= 1 and n_down, n_res >= 0",
        )
        check(
            1 <= self.shared_layers <= self.n_down + self.n_res,
            "model.shared_layers",
            self.shared_layers,
            f"an integer in [1, n_down + n_res = {self.n_down + self.n_res}] (the stem and "
            "the output layer see domain-specific channels and are never shared)",
        )
        check(self.d_layers >= 1, "model.d_layers", self.d_layers, "an integer >= 1")
        check(
            0 <= self.d_shared_layers < self.d_layers,
            "model.d_shared_layers",
            self.d_shared_layers,
            f"an integer in [0, d_layers - 1 = {self.d_layers - 1}] (the first layer is private)",
        )
        check(0.0 <= self.dropout < 1.0, "model.dropout", self.dropout, "in [0, 1)")
        check(
            self.gan_batch == 0 or self.gan_batch >= 2,
            "model.gan_batch",
            self.gan_batch,
            "0 (the whole batch) or an integer >= 2",
        )
        for key in ("feat_distance", "recon_distance"):
            value = getattr(self, key)
            check(value in ("l1", "l2"), f"model.{key}", value, "l1 | l2")
        weights = (
            self.lambda_gan,
            self.lambda_kl,
            self.lambda_recon,
            self.lambda_kl_cyc,
            self.lambda_cyc,
            self.lambda_cls,
            self.lambda_feat,
        )
        check(min(weights) >= 0, "model.lambda_*", weights, "non-negative weights")


def net_shape(config: UNITConfig) -> UNITNetShape:
    """The network sizes of a config (the nn builders take these plain values, not the config)."""
    return UNITNetShape(
        **{f.name: getattr(config, f.name) for f in dataclasses.fields(UNITNetShape)}
    )


def kl_unit_variance(mu: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, I) || N(0, I)) up to the constant and factor 1/2, per element: mean(mu^2)."""
    return mu.float().pow(2).mean()


@register_model("unit")
class UNIT(UNITLatentSpace, UNITAdaptation, Method):
    Config = UNITConfig
    capabilities = UNIT_CAPABILITIES
    default_task = "mnist2uci"
    network_names = (
        "E_A",
        "E_B",
        "E_shared",
        "G_shared",
        "G_A",
        "G_B",
        "D_A",
        "D_B",
        "D_shared",
        "S",
    )
    monitored_losses = ("g/recon_A", "g/recon_B")
    # Translation both ways, then (when it adapts) D's class head: D_B's path on target images
    # (the paper's protocol), D_A's path on targets translated into the source domain, and the
    # same-run source-only baseline S, on held-out test images unless labelled transductive.
    evaluation = ("translation", "adaptation", "via_translation", "source_only")
    figures = ("latent_tsne",)  # t-SNE of the shared latent codes of both domains

    def __init__(self, config: UNITConfig, domains, image_size: int) -> None:
        super().__init__(config, domains, image_size)
        c = config
        self.digits = c.arch == "digits"
        if self.digits and image_size != DIGIT_SIZE:
            raise ValueError(
                f"model.arch='digits' builds the official 32x32 digit networks; "
                f"data.image_size={image_size} is not accepted (use 32, or model.arch=resnet)"
            )
        ch_a, ch_b = domains[0].channels, domains[1].channels
        s = DIGIT_SHARED_LAYERS if self.digits else c.shared_layers
        shape = net_shape(c)
        enc_a, enc_b = encoder_of(ch_a, shape), encoder_of(ch_b, shape)
        gen_a, gen_b = generator_of(ch_a, shape), generator_of(ch_b, shape)
        # Weight sharing: ONE module object for the shared layers of both domains.
        self.E_A = nn.Sequential(*enc_a[:-s])
        self.E_B = nn.Sequential(*enc_b[:-s])
        self.E_shared = nn.Sequential(*enc_a[-s:])
        self.G_shared = nn.Sequential(*gen_a[:s])
        self.G_A = nn.Sequential(*gen_a[s:])
        self.G_B = nn.Sequential(*gen_b[s:])
        self.D_A, self.D_B = d_private_of(ch_a, shape), d_private_of(ch_b, shape)
        self.num_classes = domains[0].num_classes if c.lambda_cls > 0 else None
        self.D_shared = SharedTrunk(shape, self.num_classes)
        self.adapts = self.num_classes is not None
        baseline = self.adapts and c.source_only_baseline
        if baseline:
            self.S = SourceOnlyClassifier(ch_a, shape, self.num_classes)
        else:  # no baseline network: drop it from this instance's list of networks
            self.network_names = tuple(n for n in type(self).network_names if n != "S")
        for name, net in self.networks().items():
            if name.startswith(("D_", "S")) and self.digits:
                init_weights(net, "xavier", 1.0)  # the official DA code's xavier for D
            elif name.startswith(("D_", "S")):
                init_weights(net, "normal", c.init_gain)
            else:
                init_weights(net, c.init, c.init_gain)
        if c.d_tied_init:
            # Both private paths start as the same function, so that the shared trunk and class
            # head see comparable features from either domain from the first step; training
            # then moves them apart as each domain needs.
            copy_init(self.D_B, self.D_A)  # across 1 <-> 3 channels: gray = repeated RGB
        self._cache: dict[str, torch.Tensor] | None = None

    # ---- training --------------------------------------------------------------------------
    def optimizers(self) -> dict[str, OptimizerSpec]:
        c = self.config
        betas = (c.beta1, c.beta2)
        specs = {
            "g": OptimizerSpec(
                ("E_A", "E_B", "E_shared", "G_shared", "G_A", "G_B"),
                c.lr,
                betas,
                weight_decay=c.weight_decay,
            ),
            "d": OptimizerSpec(
                ("D_A", "D_B", "D_shared"), c.lr, betas, weight_decay=c.weight_decay
            ),
        }
        if "S" in self.network_names:
            specs["src"] = OptimizerSpec(("S",), c.baseline_lr, betas, weight_decay=c.weight_decay)
        return specs

    def phases(self, step: int) -> tuple[str, ...]:
        return ("g", "d", "src") if "S" in self.network_names else ("g", "d")

    def step(self, phase: str, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        batch = without_target_labels(batch)  # evaluation alone reads the target's labels
        if phase == "g":
            return self.g_step(batch)
        if phase == "d":
            return self.d_step(batch)
        if phase == "src" and "S" in self.network_names:
            return self.source_only_step(batch)
        raise ValueError(f"unit has phases {', '.join(self.optimizers())}, not {phase!r}")

    def _encode_pair(self, x_a: torch.Tensor, x_b: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Posterior means of an A batch and a B batch through the shared layers (one call)."""
        h = torch.cat([self.E_A(x_a), self.E_B(x_b)])
        mu = self.E_shared(h)
        return mu[: len(x_a)], mu[len(x_a) :]

    def _decode_both(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Every code of `z` decoded into domain A and into domain B."""
        h = self.G_shared(z)
        return self.G_A(h), self.G_B(h)

    @staticmethod
    def _sample(mu: torch.Tensor) -> torch.Tensor:
        # z ~ q(z|x) = N(mu, I): the reparameterisation with a fixed unit variance (Sec. 3)
        # randn, not randn_like: the noise must not depend on mu's memory layout (channels_last)
        return mu + torch.randn(mu.shape, device=mu.device, dtype=mu.dtype)

    def _gan_images(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """The A and B images of the batch that the VAE-GAN terms use (``gan_batch``)."""
        k = self.config.gan_batch or None
        return batch["A"][:k], batch["B"][:k]

    def g_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        c = self.config
        x_a, x_b = self._gan_images(batch)
        n = len(x_a)
        mu_a, mu_b = self._encode_pair(x_a, x_b)
        out_a, out_b = self._decode_both(self._sample(torch.cat([mu_a, mu_b])))
        x_aa, x_ba = out_a[:n], out_a[n:]  # G1(z1): reconstruction; G1(z2): B -> A
        x_ab, x_bb = out_b[:n], out_b[n:]  # G2(z1): A -> B; G2(z2): reconstruction
        # Cycle through the latent space: x_ab -> z_ab -> x_aba, x_ba -> z_ba -> x_bab (Eq. 6)
        # mu_ba = E1(x_ba) is the code of a B image, mu_ab = E2(x_ab) the code of an A image.
        # (The official DA trainer has no cycle: with both its weights 0 it is not computed.)
        cycle = c.lambda_cyc > 0 or c.lambda_kl_cyc > 0
        if cycle:
            mu_ba, mu_ab = self._encode_pair(x_ba, x_ab)
            h = self.G_shared(self._sample(torch.cat([mu_ab, mu_ba])))
            x_aba, x_bab = self.G_A(h[:n]), self.G_B(h[n:])
        # The D phase reuses these; detached so that its backward stops at D.
        self._cache = {
            "x_aa": x_aa.detach(),
            "x_ba": x_ba.detach(),
            "x_ab": x_ab.detach(),
            "x_bb": x_bb.detach(),
        }
        d_ba, _ = self._discriminate(x_ba, 0)
        d_ab, _ = self._discriminate(x_ab, 1)
        f32 = torch.float32
        dist = F.l1_loss if c.recon_distance == "l1" else F.mse_loss
        losses = {
            "gan_BA": c.lambda_gan * generator_loss(c.gan_mode, d_ba),
            "gan_AB": c.lambda_gan * generator_loss(c.gan_mode, d_ab),
            "kl_A": c.lambda_kl * kl_unit_variance(mu_a),
            "kl_B": c.lambda_kl * kl_unit_variance(mu_b),
            "recon_A": c.lambda_recon * dist(x_aa.to(f32), x_a.to(f32)),
            "recon_B": c.lambda_recon * dist(x_bb.to(f32), x_b.to(f32)),
        }
        if cycle:
            losses |= {
                "kl_cyc_A": c.lambda_kl_cyc * kl_unit_variance(mu_ab),
                "kl_cyc_B": c.lambda_kl_cyc * kl_unit_variance(mu_ba),
                "cyc_A": c.lambda_cyc * dist(x_aba.to(f32), x_a.to(f32)),
                "cyc_B": c.lambda_cyc * dist(x_bab.to(f32), x_b.to(f32)),
            }
        return losses

    def _discriminate(self, x: torch.Tensor, domain: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(real/fake scores, features of the shared trunk's top layer) of D_A or D_B."""
        h = self._trunk(x, domain)
        return self.D_shared.gan(h), h

    def d_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        c = self.config
        x_a, x_b = self._gan_images(batch)
        if self._cache is None:  # D phase without a preceding G phase: generate without grad
            with torch.no_grad():
                n = len(x_a)
                mu_a, mu_b = self._encode_pair(x_a, x_b)
                out_a, out_b = self._decode_both(self._sample(torch.cat([mu_a, mu_b])))
                self._cache = {
                    "x_aa": out_a[:n],
                    "x_ba": out_a[n:],
                    "x_ab": out_b[:n],
                    "x_bb": out_b[n:],
                }
        fake = self._cache
        self._cache = None
        n = len(x_a)
        # One pass per private path: [real A, B -> A, reconstruction A] through D_A, likewise B
        # (the digit networks score [real, translation] only: their feature-consistency
        # features come from a dropout-free pass of their own, as in the official code).
        recon_a, recon_b = ([], []) if self.digits else ([fake["x_aa"]], [fake["x_bb"]])
        s_a, h_a = self._discriminate(torch.cat([x_a, fake["x_ba"], *recon_a]), 0)
        s_b, h_b = self._discriminate(torch.cat([x_b, fake["x_ab"], *recon_b]), 1)
        real_a, fake_a = discriminator_loss(c.gan_mode, s_a[:n], s_a[n : 2 * n])
        real_b, fake_b = discriminator_loss(c.gan_mode, s_b[:n], s_b[n : 2 * n])
        losses = {
            "real_A": c.lambda_gan * real_a,
            "fake_A": c.lambda_gan * fake_a,
            "real_B": c.lambda_gan * real_b,
            "fake_B": c.lambda_gan * fake_b,
        }
        if self.adapts:
            losses |= self.adaptation_terms(batch, h_a, h_b, fake)
        return losses
