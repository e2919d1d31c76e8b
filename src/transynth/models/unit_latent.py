"""Inference through UNIT's shared latent space (:mod:`transynth.models.unit` holds the config,
the networks and the objective): z = E(x) (the posterior mean, no sampling at test time) and
G(z) per domain, translation x -> E_src(x) -> G_dst, and the sample grid. A mixin of
:class:`~transynth.models.unit.UNIT`, which provides the networks."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from transynth.models.base import columns_grid, match_channels
from transynth.nn.coupled_digits import DIGIT_SIZE


class UNITLatentSpace:
    """E1/E2, G1/G2 as networks, encoding, decoding and translation (see the module docstring)."""

    def _domain_index(self, domain: int | str) -> int:
        names = [d.name for d in self.domains]
        if domain in (0, "A") or (isinstance(domain, str) and domain == names[0]):
            return 0
        if domain in (1, "B") or (isinstance(domain, str) and domain == names[1]):
            return 1
        raise ValueError(
            f"unknown domain {domain!r}; accepted: 0, 1, 'A', 'B', {names[0]!r}, {names[1]!r}"
        )

    def encoder(self, domain: int | str) -> nn.Sequential:
        """E1 or E2 as one network (its last layers are the shared module)."""
        d = self._domain_index(domain)
        return nn.Sequential(self.E_A if d == 0 else self.E_B, self.E_shared)

    def generator(self, domain: int | str) -> nn.Sequential:
        """G1 or G2 as one network (its first layers are the shared module)."""
        d = self._domain_index(domain)
        return nn.Sequential(self.G_shared, self.G_A if d == 0 else self.G_B)

    def _fit_size(self, x: torch.Tensor) -> torch.Tensor:
        """Inputs of the fixed-size digit networks resized to 32x32 (others pass unchanged)."""
        if self.digits and x.shape[-2:] != (DIGIT_SIZE, DIGIT_SIZE):
            return F.interpolate(x, size=(DIGIT_SIZE, DIGIT_SIZE), mode="bilinear", antialias=True)
        return x

    def encode(self, x: torch.Tensor, domain: int | str) -> torch.Tensor:
        """The shared latent code (the posterior mean E(x)) of images of `domain`."""
        x = match_channels(x, self.domains[self._domain_index(domain)].channels)
        return self.encoder(domain)(self._fit_size(x))

    def decode(self, z: torch.Tensor, domain: int | str) -> torch.Tensor:
        return self.generator(domain)(z)

    def translate_tensor(self, x: torch.Tensor, direction: str, **condition: Any) -> torch.Tensor:
        src, dst = ("A", "B") if direction == "AtoB" else ("B", "A")
        y = self.decode(self.encode(x, src), dst)  # at test time z = E(x), no sampling
        if y.shape[-2:] != x.shape[-2:]:  # the digit networks work at 32x32: back to the input's
            y = F.interpolate(y.float(), size=x.shape[-2:], mode="bilinear", antialias=True)
        return y

    def fixed_size_reason(self, direction: str) -> str | None:
        return "its digit networks (arch digits) work at 32 x 32 only" if self.digits else None

    def size_multiple(self, direction: str) -> int:
        return 1 if self.digits else 2**self.config.n_down

    # ---- inspection ------------------------------------------------------------------------
    @torch.no_grad()
    def visualize(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        """Rows of: real A, A -> B, A -> B -> A, real B, B -> A, B -> A -> B."""
        real_a, real_b = batch["A"], batch["B"]
        fake_b = self.translate_tensor(real_a, "AtoB")
        fake_a = self.translate_tensor(real_b, "BtoA")
        return columns_grid(
            [
                real_a,
                fake_b,
                self.translate_tensor(fake_b, "BtoA"),
                real_b,
                fake_a,
                self.translate_tensor(fake_a, "AtoB"),
            ]
        )
