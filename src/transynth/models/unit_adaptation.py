"""UNIT's domain-adaptation variant (Liu et al., NeurIPS 2017, Sec. 5; the official
``COCOGANDATrainer``), a mixin of :class:`transynth.models.unit.UNIT`: the class head on D's
shared trunk, feature consistency of corresponding generated images, and the same-run
source-only baseline, with the accessors the evaluation reads.

The discriminators share their high-level layers; a class head on the shared trunk is trained on
the LABELLED SOURCE images only (``lambda_cls``); for a pair of generated images decoded from the
same latent code in different domains (x_aa and x_ab from z_a; x_bb and x_ba from z_b) the features
of the trunk's highest layer are pulled together (``lambda_feat``; L1 distance as the paper says,
``feat_distance: l2`` for the official code's squared distance), so D_A and D_B interpret
corresponding images the same way. The target-domain classifier is then D_B's path through the
shared trunk and the class head. Target labels are never read during training. A source-only
baseline ``S`` (the same architecture as that classification path) is trained on the source labels
alone in its own phase ``src`` of the same run, for a like-for-like comparison.

The official DA config of the digit networks (``arch: digits``; svhn2mnist: gen_ch = dis_ch = 64,
gan_w 1, cls_w 10, feature_w 1e-4, kl 1e-4, reconstruction 1e-3 on MSE summed over pixels, no
cycle, batch 64, Adam 2e-4 (0.5, 0.999), weight decay 5e-4, D xavier, G N(0, 0.02)) in this class's
per-element means is lambda_gan 1, lambda_cls 10, lambda_recon ~1 (``recon_distance: l2``),
lambda_kl ~0.1, lambda_cyc = lambda_kl_cyc = 0 and lambda_feat = 1e-4 x the trunk's feature size
(``feat_distance: l2``; 0.2 at dis_ch 64, 0.1 at 32).

Deliberate departures:
- The feature-consistency features are taken in the same forward pass as the real/fake scores
  (with dropout), not in a second dropout-free pass as in the official DA code.
- ``d_tied_init``: D_B's private layers are initialised as a copy of D_A's (independently
  initialised in the official code; ``copy_init``: across gray and RGB domains a gray image
  repeated over RGB gets the same response); only the starting point changes, not the objective.
  It lets the short CPU runs adapt from a classifier path that already reads the target like the
  source instead of from a random one.
- Defaults: ``lambda_cls`` equals the GAN weight (10) and ``lambda_feat`` is 1 (mean L1), for
  the image-translation networks, where no official DA values exist; the official DA values
  for the digit networks are given above.
- The official DA code also shows D the reconstructions x_aa, x_bb as fakes; here D judges the
  translations only, as in the paper's Eq. 5.
- ``source_augment`` (off by default; not in the paper): the class head and the source-only
  baseline read labelled sources through ``nn.augment.geometric_jitter`` (random scale, aspect,
  rotation and shift, symmetric around the identity), in a pass of their own, so that D's
  real/fake term still sees the sources as they are. Between digit domains that differ in
  framing it lifts both classifiers; the baseline gets the same jitter so the comparison stays
  like for like.
- ``gan_batch`` (0 by default: every image of the batch; not in the paper): the VAE-GAN terms
  use the first ``gan_batch`` images of each domain, while the class head and the baseline read
  every labelled source of the batch. It buys the classifiers the official DA code's batch of 64
  at a fraction of the cost of a 64-image VAE-GAN step (``train.batch_size=64
  model.gan_batch=16``). On ``mnist2uci`` over 10,000 steps it lifted the source-only baseline
  (87.5% vs 82.2%) but not UNIT's head (81.3% vs 83.0%; docs/BENCHMARKS.md), so the CPU preset
  does not use it.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from transynth.losses import labelled_cross_entropy
from transynth.models.adaptation_data import labelled_source_error, source_train_labelled
from transynth.models.base import match_channels
from transynth.nn.augment import geometric_jitter
from transynth.nn.inference import run_batched


class UNITAdaptation:
    """Domain adaptation for :class:`~transynth.models.unit.UNIT` (see the module docstring)."""

    @classmethod
    def check_task(cls, config: Any, task: Any) -> None:
        """Without labels anywhere UNIT trains as a translator; with labels on either side
        (adaptation asked for) its class head needs them on the source's training images."""
        labelled = any(d.num_classes for d in task.domains[:2])
        if config.lambda_cls > 0 and labelled and not source_train_labelled(task):
            raise labelled_source_error(
                cls.name,
                task,
                "trains its class head (domain adaptation) on the source domain's labels",
                "; or set model.lambda_cls=0 to train UNIT as a translator only",
            )

    def _trunk(self, x: torch.Tensor, domain: int, dropout: bool = True) -> torch.Tensor:
        """Features of the shared trunk's top layer through D_A's or D_B's private layers
        (`dropout` False: the digit trunk's dropout-free path, for feature consistency)."""
        private = self.D_A if domain == 0 else self.D_B
        if self.digits:
            return self.D_shared.trunk(private(x), dropout)
        return self.D_shared.trunk(private(x))

    def classify(self, x: torch.Tensor, domain: int | str) -> torch.Tensor:
        """Class logits of the adapted classifier (D's path for `domain` + the class head)."""
        if self.D_shared.cls is None:
            raise ValueError(
                "this UNIT has no class head: domain adaptation needs a labelled source domain "
                "and model.lambda_cls > 0"
            )
        d = self._domain_index(domain)
        x = match_channels(x, self.domains[d].channels)
        return self.D_shared.cls(self._trunk(self._fit_size(x), d))

    def adaptation_terms(
        self,
        batch: dict[str, torch.Tensor],
        h_a: torch.Tensor,
        h_b: torch.Tensor,
        fake: dict[str, torch.Tensor],
    ) -> dict[str, torch.Tensor]:
        """The D phase's adaptation terms: ``cls``, the class head on labelled sources, and
        ``feat``, feature consistency of corresponding generated images. `h_a`, `h_b`: the
        trunk features of D's scoring passes ([real, translation, (reconstruction)] per path);
        `fake`: the G phase's images."""
        c = self.config
        n = len(self._gan_images(batch)[0])
        losses: dict[str, torch.Tensor] = {}
        y_a = batch.get("label_A")
        if y_a is not None:  # a batch of unlabelled sources only (a partly labelled folder): 0
            # Every labelled source of the batch (gan_batch may use fewer); jittered copies
            # get their own pass: D's real/fake term keeps the real sources.
            x_cls = batch["A"]
            if c.source_augment:
                h_cls = self._trunk(geometric_jitter(x_cls), 0)
            elif len(x_cls) == n:
                h_cls = h_a[:n]
            else:
                h_cls = self._trunk(x_cls, 0)
            logits = self.D_shared.cls(h_cls).float()
            losses["cls"] = c.lambda_cls * labelled_cross_entropy(logits, y_a)
        if c.lambda_feat > 0:
            # Corresponding generated images (decoded from one code into both domains) must
            # give the same top-layer features: x_ab (D_B) vs x_aa (D_A), x_ba (D_A) vs x_bb.
            dist = F.l1_loss if c.feat_distance == "l1" else F.mse_loss
            if self.digits:  # rows: [translation, reconstruction] of each private path
                f_a = self._trunk(torch.cat([fake["x_ba"], fake["x_aa"]]), 0, dropout=False)
                f_b = self._trunk(torch.cat([fake["x_ab"], fake["x_bb"]]), 1, dropout=False)
            else:  # rows n.. of the scoring pass
                f_a, f_b = h_a[n:], h_b[n:]
            feat_a = dist(f_b[:n].float(), f_a[n:].float())
            feat_b = dist(f_a[:n].float(), f_b[n:].float())
            losses["feat"] = c.lambda_feat * (feat_a + feat_b)
        return losses

    def source_only_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        y_a = batch.get("label_A")
        if y_a is None:
            raise ValueError("the source-only baseline needs labelled source images (label_A)")
        x_a = geometric_jitter(batch["A"]) if self.config.source_augment else batch["A"]
        # 0 on a batch without labelled sources (a partly labelled folder; check_task refuses
        # a source with none at all)
        return {"cls": labelled_cross_entropy(self.S(x_a), y_a)}

    @property
    def has_source_only_baseline(self) -> bool:
        """Whether the source-only baseline S is trained in this run."""
        return "S" in self.network_names

    def source_only_logits(self, x: torch.Tensor) -> torch.Tensor:
        """The same-run source-only baseline S's class logits for images of either domain."""
        if not self.has_source_only_baseline:
            raise ValueError("this UNIT has no source-only baseline (model.source_only_baseline)")
        ch = self.domains[0].channels
        return run_batched(lambda b: self.S(match_channels(b, ch)), x, 256, device=self.device)
