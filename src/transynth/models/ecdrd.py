"""E-CDRD: CDRD extended with encoders, for cross-domain translation with a chosen attribute.

Liu, Yeh, Fu, Wang, Chiu, Wang. "Detach and Adapt: Learning Cross-Domain Disentangled Deep
Representation." CVPR 2018 (its extended model). Everything of CDRD (:mod:`transynth.models.cdrd`:
the networks, L_GAN, L_cls, the cross-domain classification and its source-only baseline) plus the
encoders E_S, E_T (domain-specific low-level, ``E_S``/``E_T``) and the shared E_C (``E_C``) giving
q(z | x) = N(mu, sigma^2): z = E_C(E_S(X_S)), reparameterised. Its VAE loss (``rec_feat_*``,
``rec_pix_*``, ``kl_*``) reconstructs X_S through G_S(G_C(z, l_S)) and X_T through G_T(G_C(z,
l^_T)) (l^_T: the attribute D predicts, the target having no labels), plus KL(q(z|x) || N(0, I)).
Translation with a chosen attribute is X~_{S->T} = G_T(G_C(z_S, l~)): ``translate(x, "AtoB",
label=7)``; without a label the attribute D predicts for x is kept. During training the
translations X~_{S->T} (attribute l_S) and X~_{T->S} (attribute l^_T) are further fakes for D
(adversarial terms; X~_{S->T} also gets L_cls^T with its known l_S). Updates as in the paper: E by
L_vae only (the translations see a detached z), G by L_vae + L_GAN + lambda L_cls, D by L_GAN +
lambda L_cls.

Evaluation: CDRD's, plus the translation metrics of ``evaluate_translation`` both ways
(``AtoB/...``, ``BtoA/...``), translating with the attribute D predicts for each input.

Deliberate departure (CDRD's apply too):
- E-CDRD reconstructs in D's feature space (the paper) AND in pixels (``lambda_rec_pixel``; keeps
  early reconstructions tied to the image while D is still weak). The KL is the reference code's
  per-dimension mean, weight ``lambda_kl``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from transynth.losses import generator_loss, labelled_cross_entropy
from transynth.models.cdrd import CDRD, CDRDConfig
from transynth.models.registration import register_model
from transynth.nn.cdrd_nets import LatentHead
from transynth.runconfig import check


@dataclass(frozen=True)
class ECDRDConfig(CDRDConfig):
    e_private_layers: int = 1  # domain-specific encoder layers at the input, 1..3
    lambda_rec: float = 1.0  # reconstruction in D's feature space (the paper)
    lambda_rec_pixel: float = 1.0  # and in pixels (L1); a departure, see the module docstring
    lambda_kl: float = 1.0
    lambda_trans: float = 1.0  # weight of the GAN/attribute terms on translated images

    def __post_init__(self) -> None:
        super().__post_init__()
        check(
            1 <= self.e_private_layers <= 3,
            "model.e_private_layers",
            self.e_private_layers,
            "1, 2 or 3",
        )
        for key in ("lambda_rec", "lambda_rec_pixel", "lambda_kl", "lambda_trans"):
            check(getattr(self, key) >= 0, f"model.{key}", getattr(self, key), "a weight >= 0")


@register_model("ecdrd")
class ECDRD(CDRD):
    Config = ECDRDConfig
    network_names = ("G_C", "G_S", "G_T", "D_S", "D_T", "D_C", "C_src", "E_S", "E_T", "E_C")
    monitored_losses = ("d/cls_real_S", "src/cls_S", "g/rec_pix_S", "g/rec_pix_T")
    translation_export_blocker = None  # the encoders make translation a graph
    # CDRD's protocols, then translation both ways (label None: D's predicted attribute)
    evaluation = (*CDRD.evaluation, "translation")
    figures = (*CDRD.figures, "attribute_translations")

    def _build_extra(self, d_layers: Any) -> None:
        c = self.config
        p = c.e_private_layers
        src, tgt = self.domains
        self.E_S = nn.Sequential(*d_layers(src.channels)[:p])
        self.E_T = nn.Sequential(*d_layers(tgt.channels)[:p])
        self.E_C = LatentHead(d_layers(src.channels)[p:], c.emb_dim, c.z_dim)

    def _tied_pairs(self) -> list[tuple[nn.Module, nn.Module]]:
        return [*super()._tied_pairs(), (self.E_T, self.E_S)]

    def _g_networks(self) -> tuple[str, ...]:
        return ("G_C", "G_S", "G_T", "E_S", "E_T", "E_C")

    def encode(self, x: torch.Tensor, domain: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar) of q(z | x) = E_C(E_S(x)) or E_C(E_T(x))."""
        return self.E_C((self.E_S if domain == 0 else self.E_T)(x))

    @torch.no_grad()
    def _attributes(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """(l_S, l^_T): each source's label where it has one, else the attribute D reads in it,
        and the attribute D reads in each target image (targets have no labels)."""
        pred_s = self.discriminate(batch["A"], 0)[1].argmax(1)
        pred_t = self.discriminate(batch["B"], 1)[1].argmax(1)
        return torch.where(batch["label_A"] >= 0, batch["label_A"], pred_s), pred_t

    def _latent(self, x: torch.Tensor, labels: torch.Tensor, domain: int) -> torch.Tensor:
        return self.encode(x, domain)[0]  # the posterior mean

    def g_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        c = self.config
        real_s, real_t = batch["A"], batch["B"]
        l_s, pred_t = self._attributes(batch)
        mu_s, lv_s = self.encode(real_s, 0)
        mu_t, lv_t = self.encode(real_t, 1)
        z_s = mu_s + torch.randn_like(mu_s) * (0.5 * lv_s).exp()
        z_t = mu_t + torch.randn_like(mu_t) * (0.5 * lv_t).exp()
        rec_s = self._render(z_s, l_s, 0)
        rec_t = self._render(z_t, pred_t, 1)
        # Translations: z detached, so E is trained by L_vae only (the paper's update rule).
        trans_st = self._render(z_s.detach(), l_s, 1)  # X~_{S->T} with the source's attribute
        trans_ts = self._render(z_t.detach(), pred_t, 0)  # X~_{T->S}
        losses = super().g_step(batch)
        fakes = self._fakes
        self._fakes = {
            "S": torch.cat([fakes["S"], trans_ts.detach()]),
            "T": torch.cat([fakes["T"], trans_st.detach()]),
            "label_S": torch.cat([fakes["label_S"], torch.full_like(pred_t, -1)]),
            "label_T": torch.cat([fakes["label_T"], l_s]),
        }
        w = c.lambda_trans
        adv_ts, _, _ = self.discriminate(trans_ts, 0)
        adv_st, cls_st, _ = self.discriminate(trans_st, 1)
        feat = self.discriminate  # D's features: the reconstruction's feature space
        losses.update(
            {
                "gan_trans_S": w * generator_loss(c.gan_mode, adv_ts),
                "gan_trans_T": w * generator_loss(c.gan_mode, adv_st),
                "cls_trans_T": w * 0.5 * c.lambda_cls * labelled_cross_entropy(cls_st, l_s),
                "rec_feat_S": c.lambda_rec
                * F.mse_loss(feat(rec_s, 0)[2].float(), feat(real_s, 0)[2].float().detach()),
                "rec_feat_T": c.lambda_rec
                * F.mse_loss(feat(rec_t, 1)[2].float(), feat(real_t, 1)[2].float().detach()),
                "rec_pix_S": c.lambda_rec_pixel * F.l1_loss(rec_s.float(), real_s.float()),
                "rec_pix_T": c.lambda_rec_pixel * F.l1_loss(rec_t.float(), real_t.float()),
                "kl_S": c.lambda_kl * _kl(mu_s, lv_s),
                "kl_T": c.lambda_kl * _kl(mu_t, lv_t),
            }
        )
        return losses

    def _generated(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        fakes = super()._generated(batch)
        if torch.is_grad_enabled():  # the G phase: g_step adds the translations itself
            return fakes
        # A D phase without a preceding G phase: noise samples and translations, no gradients.
        real_s, real_t = batch["A"], batch["B"]
        l_s, pred_t = self._attributes(batch)
        return {
            "S": torch.cat([fakes["S"], self._render(self.encode(real_t, 1)[0], pred_t, 0)]),
            "T": torch.cat([fakes["T"], self._render(self.encode(real_s, 0)[0], l_s, 1)]),
            "label_S": torch.cat([fakes["label_S"], torch.full_like(pred_t, -1)]),
            "label_T": torch.cat([fakes["label_T"], l_s]),
        }

    def _visual_extra(self, batch: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        """Also S -> T with the source label, and T -> S with D's predicted attribute."""
        labels = batch["label_A"].clamp(min=0)
        a, b = batch["A"], batch["B"]
        return [
            self._render(self.encode(a, 0)[0], labels, 1),
            self._render(self.encode(b, 1)[0], self.discriminate(b, 1)[1].argmax(1), 0),
        ]


def _kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma^2) || N(0, I)), the reference code's per-dimension mean form."""
    mu, logvar = mu.float(), logvar.float()
    return (logvar.exp() - 1.0 - logvar + mu.pow(2)).mean()
