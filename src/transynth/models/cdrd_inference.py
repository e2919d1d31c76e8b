"""CDRD's inference (:mod:`transynth.models.cdrd` holds the paper's objective): joint sampling
from (z, l), translation of a given image by inverting G (CoGAN's cross-domain transformation;
E-CDRD encodes instead), the attribute head and D_C's features on real images, the sample grid
and the sampler's export graph. A mixin of :class:`~transynth.models.cdrd.CDRD`, which provides
``generate``, ``discriminate``, ``_render`` and the networks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from transynth.export import IMAGE_OUTPUT, ExportSpec, FunctionGraph
from transynth.models.base import columns_grid, match_channels


def _resize(x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    if tuple(x.shape[-2:]) == tuple(hw):
        return x
    shrink = hw[0] < x.shape[-2] or hw[1] < x.shape[-1]
    return F.interpolate(x, size=hw, mode="bilinear", align_corners=False, antialias=shrink)


class CDRDInference:
    """Inference shared by CDRD and E-CDRD (see the module docstring)."""

    # ---- inference ---------------------------------------------------------------------------
    def _labels(self, label: Any, n: int, device: torch.device) -> torch.Tensor:
        """`label` (an int, a sequence or a tensor of n ints) as a (n,) long tensor, checked."""
        if isinstance(label, bool):
            raise ValueError(f"label {label!r} is not a class index")
        t = torch.as_tensor(label, dtype=torch.long, device=device)
        if t.dim() == 0:
            t = t.expand(n).clone()
        if t.dim() != 1 or len(t) != n:
            raise ValueError(f"labels: expected one label or {n}, got shape {tuple(t.shape)}")
        if len(t) and (int(t.min()) < 0 or int(t.max()) >= self.num_classes):
            names = ", ".join(self.domains[0].class_names) or "-"
            raise ValueError(
                f"label {label!r} is out of range; accepted: 0..{self.num_classes - 1} "
                f"(classes of {self.domains[0].name}: {names})"
            )
        return t

    def classify(self, x: torch.Tensor, domain: int) -> torch.Tensor:
        """Attribute logits of real images of `domain` (0 source, 1 target) through D_C's head."""
        x = match_channels(x.to(self.device, torch.float32), self.domains[domain].channels)
        return self.discriminate(_resize(x, (self.image_size, self.image_size)), domain)[1]

    def features(self, x: torch.Tensor, domain: int) -> torch.Tensor:
        """D_C's features (the input of its heads) of images of `domain`."""
        x = match_channels(x.to(self.device, torch.float32), self.domains[domain].channels)
        return self.discriminate(_resize(x, (self.image_size, self.image_size)), domain)[2]

    def _sample_names(self) -> tuple[str, str]:
        a, b = (d.name for d in self.domains)
        return (a, b) if a != b else ("A", "B")

    @torch.no_grad()
    def sample(
        self,
        n: int,
        *,
        labels: int | Sequence[int] | torch.Tensor | None = None,
        codes: dict[str, float] | None = None,
        seed: int | None = None,
    ) -> dict[str, torch.Tensor]:
        """`n` jointly generated pairs {source name: X~_S, target name: X~_T} from the same
        (z, l): the i-th images of both domains share their noise and their attribute."""
        if codes:
            raise ValueError(
                f"{self.name} takes no latent codes ({', '.join(codes)}); its attribute is "
                "chosen with labels="
            )
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        z = torch.randn(n, self.config.z_dim, generator=gen).to(self.device)
        if labels is None:
            y = torch.randint(0, self.num_classes, (n,), generator=gen).to(self.device)
        else:
            y = self._labels(labels, n, self.device)
        was_training = self.training
        self.eval()
        try:
            xs, xt = self.generate(z, y)
        finally:
            self.train(was_training)
        a, b = self._sample_names()
        return {a: xs.float().cpu(), b: xt.float().cpu()}

    def sampler_export_spec(self) -> ExportSpec:
        """The joint generator as a graph of (z, label) -> (X~_S, X~_T)."""
        z = torch.randn(4, self.config.z_dim, generator=torch.Generator().manual_seed(0))
        labels = torch.arange(4) % self.num_classes
        names = self._sample_names()
        return ExportSpec(
            module=FunctionGraph(self, self.generate),
            inputs={"z": z.to(self.device), "label": labels.to(self.device)},
            outputs=names,
            contract={
                "computes": "a pair of images, one per domain, sharing z and the attribute",
                "inputs": {
                    "z": {"prior": "normal(0, 1)"},
                    "label": {"values": f"0..{self.num_classes - 1}"},
                },
                "outputs": dict.fromkeys(names, IMAGE_OUTPUT),
            },
        )

    def _latent(self, x: torch.Tensor, labels: torch.Tensor, domain: int) -> torch.Tensor:
        """z for a given image: here by inverting G (CoGAN-style); E-CDRD encodes instead."""
        z = torch.zeros(len(x), self.config.z_dim, device=x.device, requires_grad=True)
        opt = torch.optim.Adam([z], lr=0.05)
        with torch.enable_grad():
            for _ in range(self.config.invert_steps):
                rec = self._render(z, labels, domain).float()
                loss = F.mse_loss(rec, x.float()) + 1e-3 * z.pow(2).mean()
                (z.grad,) = torch.autograd.grad(loss, [z])  # only z: G's weights stay untouched
                opt.step()
        return z.detach()

    def fixed_size_reason(self, direction: str) -> str | None:
        return "translation inverts its generator, which renders one fixed size"

    def translate_tensor(
        self, x: torch.Tensor, direction: str, label: Any = None, **condition: Any
    ) -> torch.Tensor:
        """Translate a batch into the other domain, showing attribute `label` (an int or one per
        image; None keeps the attribute D's head predicts for each input)."""
        src = 0 if direction == "AtoB" else 1
        hw = tuple(x.shape[-2:])
        x = _resize(x.float(), (self.image_size, self.image_size))
        labels = (
            self.discriminate(x, src)[1].argmax(1)
            if label is None
            else self._labels(label, len(x), x.device)
        )
        z = self._latent(x, labels, src)
        y = self._render(z, labels, 1 - src).float()
        return _resize(y, hw).clamp(-1.0, 1.0)

    @torch.no_grad()
    def visualize(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        """Rows of: real S, real T, then a joint pair (X~_S, X~_T) for the row's source label."""
        real_a, real_b = batch["A"], batch["B"]
        labels = batch["label_A"].clamp(min=0)
        gen = torch.Generator().manual_seed(0)
        z = torch.randn(len(real_a), self.config.z_dim, generator=gen).to(real_a.device)
        fake_s, fake_t = self.generate(z, labels)
        return columns_grid([real_a, real_b, fake_s, fake_t, *self._visual_extra(batch)])

    def _visual_extra(self, batch: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        return []

    # ---- accessors the evaluation reads --------------------------------------------------------
    #: D's attribute head classifies target images (``classify``): the domain-adaptation result.
    adapts = True

    @property
    def has_source_only_baseline(self) -> bool:
        """Whether the source-only baseline C_src is trained in this run."""
        return self.config.source_only

    def source_only_logits(self, x: torch.Tensor) -> torch.Tensor:
        """The same-run source-only baseline C_src's class logits for images of either domain."""
        x = match_channels(x.to(self.device, torch.float32), self.domains[0].channels)
        return self.C_src(_resize(x, (self.image_size, self.image_size)))
