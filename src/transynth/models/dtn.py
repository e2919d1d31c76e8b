"""DTN: the Domain Transfer Network, one-way translation through a fixed feature extractor.

Taigman, Polyak, Wolf. "Unsupervised Cross-Domain Image Generation." ICLR 2017.

Paper -> code (S = source domain A, T = target domain B; the lecture's notation in brackets):
    f               ``f.features``: a feature extractor PRE-TRAINED on the labelled source domain
                    (its class head ``f.head`` exists only for that) and then FROZEN. It is one of
                    the run's networks: trained in phase ``f`` during the first
                    ``f_pretrain_steps`` steps, saved in every checkpoint and reloaded with the run
                    (so a resumed run is exact), and in no optimizer afterwards.
    g               ``g``: the decoder; G = g o f translates S -> T (one way only)
    D               ``D``: a 3-way classifier: 1 = G(x) of a source x, 2 = G(t) of a target t,
                    3 = a real target t
    L_D             -E_x log D1(g(f(x))) - E_t log D2(g(f(t))) - E_t log D3(t)
    L_GANG          -E_x log D3(g(f(x))) - E_t log D3(g(f(t)))  [L_GAN for G]
    L_CONST         sum_x ||f(x) - f(g(f(x)))||^2, weight alpha          [L_feat]
    L_TID           sum_t ||t - g(f(t))||^2, weight beta (identity on T) [L_img]
    L_TV            total variation of G(x), weight gamma
    L_G             L_GANG + alpha L_CONST + beta L_TID + gamma L_TV

Defaults: the paper's digit setting (SVHN -> MNIST, Sec. 5.1): alpha = beta = 15, gamma = 0; f of
four convolutional layers with max pooling and ReLU ending in a 128-d code, g of transposed
convolutions with batch norm and ReLU ending in tanh, D of strided convolutions with batch norm.
Adam lr 3e-4 with betas (0.5, 0.999) (REFERENCE.md: a common re-implementation's setting; the
paper gives no optimiser values). f is trained with Adam lr 1e-3 and cross-entropy. Squared
distances are means over elements (the paper's sums divided by a constant, absorbed in alpha and
beta as in the re-implementations).

Deliberate departures:
- f is pre-trained inside the run (phase ``f``) rather than loaded from a separate classifier
  run, so that the run is self-contained and resumes exactly. ``f_pretrain_steps: 0`` skips it
  (f stays at its random initialisation; used by the fast tests only).
- f's 128-d code ends in tanh (as in the widely used TensorFlow re-implementation; the paper
  does not say): with an unbounded code, alpha * L_CONST dominated g's objective in our runs
  and g drew adversarial noise that moved f's code (translation accuracy at chance, FID 409 on
  printed2mnist) instead of digits. That run predates the fix of D's batch composition (below),
  which also kept accuracy at chance, so the unbounded code has not been re-measured since.
- ``f_augment`` (off by default; the paper does not augment): f pre-trains on randomly warped
  source images, half of them gray, which lifts a printed-digit f from 70% to 78% on MNIST test
  digits (1,000 steps, measured outside the run); see docs/BENCHMARKS.md for its effect on G.
  That figure reads TARGET test labels, and the CPU preset's departures (``f_augment``, 2,000
  f steps, batch 64, ``train.ema``) were chosen by held-out test accuracy: docs/BENCHMARKS.md,
  "Fidelity points (issue 28)", says which and what a label-free choice would use.
- ``f_augment_strokes`` (off by default): f also pre-trains on elastically warped source digits
  with stroke widths varied (dilated, eroded), the variation between handwritten digits that
  rendered fonts lack. Together with ``f_augment`` it lifts f from 77% to 83% on MNIST training
  digits (2,000 pre-training steps, measured outside the run, one seed each).
- f sees target-domain images converted to the source's channel count (gray MNIST -> 3 equal
  channels for a printed-digit f), as SVHN's f sees MNIST in the paper.
- G phase before the D phase within a step, the D phase reusing the G phase's detached outputs.
- D judges one batch of [G(x), G(t), t] in both phases (the paper does not say how batches are
  formed), so that its batch norm statistics are the same whenever G and D read it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F

from transynth.capabilities import UNPAIRED_BIDIRECTIONAL
from transynth.losses import labelled_cross_entropy
from transynth.models.adaptation_data import check_labelled_source, without_target_labels
from transynth.models.base import Method, OptimizerSpec, columns_grid, match_channels
from transynth.models.registration import register_model
from transynth.nn import init_weights
from transynth.nn.dtn_augment import augment_for_f, elastic_warp, vary_strokes
from transynth.nn.dtn_nets import Decoder, FeatureExtractor, ThreeWayDiscriminator
from transynth.runconfig import check

#: DTN: unpaired, one way (S -> T) only, a joint representation (f's feature space).
DTN_CAPABILITIES = replace(UNPAIRED_BIDIRECTIONAL, bidirectional=False, joint_representation=True)


@dataclass(frozen=True)
class DTNConfig:
    f_width: int = 64  # f: conv widths f_width * (1, 2, 4) then the code
    feature_dim: int = 128  # f(x): the 128-d code of the paper's digit f
    ngf: int = 64
    ndf: int = 64
    dropout: float = 0.0  # in D
    alpha: float = 15.0  # L_CONST
    beta: float = 15.0  # L_TID
    gamma: float = 0.0  # L_TV
    f_pretrain_steps: int = 1000  # phase "f" for these first steps, then f is frozen
    f_lr: float = 1e-3
    f_augment: bool = False  # random affine + gray copies of the source while f pre-trains
    f_augment_strokes: bool = False  # + elastic warps and stroke-width changes (handwriting)
    lr: float = 3e-4
    beta1: float = 0.5
    beta2: float = 0.999
    init_gain: float = 0.02

    def __post_init__(self) -> None:
        check(
            min(self.f_width, self.feature_dim, self.ngf, self.ndf) >= 1,
            "model.f_width/feature_dim/ngf/ndf",
            (self.f_width, self.feature_dim, self.ngf, self.ndf),
            "integers >= 1",
        )
        check(0.0 <= self.dropout < 1.0, "model.dropout", self.dropout, "in [0, 1)")
        check(
            min(self.alpha, self.beta, self.gamma) >= 0,
            "model.alpha/beta/gamma",
            (self.alpha, self.beta, self.gamma),
            "non-negative weights",
        )
        check(
            self.f_pretrain_steps >= 0,
            "model.f_pretrain_steps",
            self.f_pretrain_steps,
            "an integer >= 0",
        )


FAKE_SOURCE, FAKE_TARGET, REAL_TARGET = 0, 1, 2  # D's classes (the paper's D1, D2, D3)


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Mean of the smoothness term sum ((dx)^2 + (dy)^2)^(1/2) over pixels (the paper's L_TV
    with B = 1)."""
    x = x.float()
    dx = x[..., :-1, 1:] - x[..., :-1, :-1]
    dy = x[..., 1:, :-1] - x[..., :-1, :-1]
    return (dx.pow(2) + dy.pow(2) + 1e-8).sqrt().mean()


@register_model("dtn")
class DTN(Method):
    Config = DTNConfig
    capabilities = DTN_CAPABILITIES
    default_task = "printed2mnist"
    network_names = ("f", "g", "D")
    monitored_losses = ("g/tid",)
    # Translation (AtoB only: DTN is one-way), then f's head on source and target test images.
    evaluation = ("translation", "source_classifier")

    def __init__(self, config: DTNConfig, domains, image_size: int) -> None:
        super().__init__(config, domains, image_size)
        c = config
        src, tgt = domains[0], domains[1]
        if not src.num_classes:
            raise ValueError(
                f"DTN pre-trains f on a labelled source domain, but {src.name!r} has no class "
                "labels; use a task whose source domain is labelled (e.g. printed2mnist)"
            )
        self.f = FeatureExtractor(
            src.channels, c.f_width, c.feature_dim, src.num_classes, image_size
        )
        self.g = Decoder(c.feature_dim, c.ngf, tgt.channels, image_size)
        self.D = ThreeWayDiscriminator(tgt.channels, c.ndf, image_size, c.dropout)
        # f keeps PyTorch's default (Kaiming-uniform) init, suited to a ReLU classifier.
        init_weights(self.g, "normal", c.init_gain)
        init_weights(self.D, "normal", c.init_gain)
        self._cache: dict[str, torch.Tensor] | None = None

    @classmethod
    def check_task(cls, config: DTNConfig, task) -> None:
        check_labelled_source(cls.name, task, "pre-trains f on the source domain's labels")

    # ---- the fixed representation and translation -------------------------------------------
    def encode(self, x: torch.Tensor, domain: int | str = 0) -> torch.Tensor:
        """f(x), the joint representation, for images of either domain: (N, feature_dim)."""
        x = match_channels(x, self.domains[0].channels)
        return self.f(x).flatten(1)

    def _g_of_f(self, x: torch.Tensor) -> torch.Tensor:
        return self.g(self.f(match_channels(x, self.domains[0].channels)))

    def fixed_size_reason(self, direction: str) -> str | None:
        return "its f and g are the paper's fixed-size digit networks (f ends in a 1x1 code)"

    def translate_tensor(self, x: torch.Tensor, direction: str, **condition: Any) -> torch.Tensor:
        self.check_direction(direction)
        h, w = x.shape[-2:]
        s = self.image_size
        if (h, w) != (s, s):  # f and g work at the training size: resize in and back out
            x = F.interpolate(x, size=(s, s), mode="bilinear", align_corners=False)
        y = self._g_of_f(x)
        if (h, w) != (s, s):
            y = F.interpolate(y.float(), size=(h, w), mode="bilinear", align_corners=False)
        return y.clamp(-1, 1)

    # ---- training --------------------------------------------------------------------------
    def optimizers(self) -> dict[str, OptimizerSpec]:
        c = self.config
        betas = (c.beta1, c.beta2)
        return {
            "f": OptimizerSpec(("f",), c.f_lr, (0.9, 0.999)),
            "g": OptimizerSpec(("g",), c.lr, betas),
            "d": OptimizerSpec(("D",), c.lr, betas),
        }

    def averaged_networks(self) -> tuple[str, ...]:
        # g was trained against f as it is: an average of f's pre-training iterates is not it.
        return ("g", "D")

    def phases(self, step: int) -> tuple[str, ...]:
        # f is pre-trained first, then frozen: it belongs to no phase afterwards.
        return ("f",) if step < self.config.f_pretrain_steps else ("g", "d")

    def step(self, phase: str, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        batch = without_target_labels(batch)  # evaluation alone reads the target's labels
        if phase == "f":
            return self.f_step(batch)
        if phase == "g":
            return self.g_step(batch)
        if phase == "d":
            return self.d_step(batch)
        raise ValueError(f"dtn has phases f, g and d, not {phase!r}")

    def f_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        y = batch.get("label_A")
        if y is None:
            raise ValueError("pre-training f needs labelled source images (label_A)")
        x = batch["A"]
        if self.config.f_augment:
            x = augment_for_f(x)
        if self.config.f_augment_strokes:
            x = vary_strokes(elastic_warp(x))
        # 0 on a batch without labelled sources (a partly labelled folder; check_task refuses
        # a source with none at all)
        return {"cls": labelled_cross_entropy(self.f.head(self.f(x)), y)}

    def g_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        c = self.config
        x, t = batch["A"], batch["B"]
        fx = self.f(x)  # f is frozen here: no optimizer, requires_grad off
        fake_s = self.g(fx)  # G(x), source -> target
        fake_t = self.g(self.f(match_channels(t, self.domains[0].channels)))  # G(t)
        self._cache = {"fake_s": fake_s.detach(), "fake_t": fake_t.detach()}
        # D sees the same batch as in its own phase (fakes AND real targets): its batch norm
        # then computes the same function that the D phase trains. Judged on fakes alone, the
        # batch statistics differ and G optimised a D that its D phase never saw (g/gan near 0
        # while D classified the fakes perfectly; translation accuracy at chance).
        logits = self.D(torch.cat([fake_s, fake_t, t.to(fake_s.dtype)])).float()
        logits = logits[: len(fake_s) + len(fake_t)]
        real = torch.full((len(logits),), REAL_TARGET, device=logits.device)
        losses = {"gan": F.cross_entropy(logits, real) * 2}  # two expectations, as in L_GANG
        f_fake = self.f(match_channels(fake_s, self.domains[0].channels))
        losses["const"] = c.alpha * F.mse_loss(f_fake.float(), fx.detach().float())
        losses["tid"] = c.beta * F.mse_loss(fake_t.float(), t.float())
        if c.gamma > 0:
            losses["tv"] = c.gamma * total_variation(fake_s)
        return losses

    def d_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        t = batch["B"]
        if self._cache is None:  # D phase without a preceding G phase: generate without grad
            with torch.no_grad():
                self._cache = {
                    "fake_s": self._g_of_f(batch["A"]),
                    "fake_t": self._g_of_f(t),
                }
        fake = self._cache
        self._cache = None
        n_s, n_t = len(fake["fake_s"]), len(fake["fake_t"])
        logits = self.D(torch.cat([fake["fake_s"], fake["fake_t"], t])).float()
        dev = logits.device
        return {
            "fake_source": F.cross_entropy(
                logits[:n_s], torch.full((n_s,), FAKE_SOURCE, device=dev)
            ),
            "fake_target": F.cross_entropy(
                logits[n_s : n_s + n_t], torch.full((n_t,), FAKE_TARGET, device=dev)
            ),
            "real_target": F.cross_entropy(
                logits[n_s + n_t :], torch.full((len(t),), REAL_TARGET, device=dev)
            ),
        }

    # ---- inspection ------------------------------------------------------------------------
    @torch.no_grad()
    def visualize(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        """Rows of: source x, G(x), target t, G(t) (the identity the TID term asks for)."""
        x, t = batch["A"], batch["B"]
        return columns_grid([x, self._g_of_f(x), t, self._g_of_f(t)])

    def source_classifier_logits(self, x: torch.Tensor) -> torch.Tensor:
        """f's class head on f(x) (trained on the source labels while f pre-trains), for images
        of either domain: the source-only baseline."""
        return self.f.head(self.encode(x)[..., None, None])
