"""InfoGAN's latent code layout: ``model.codes`` strings such as ``"cat:10,cont:2"`` and the
codes c1, c2, ... they describe (:mod:`transynth.models.infogan`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Code:
    """One latent code: a categorical code with `values` values, or one continuous scalar."""

    name: str
    kind: str  # "cat" | "cont"
    values: int = 0  # categorical: number of values

    def describe(self) -> str:
        if self.kind == "cat":
            return f"{self.name} (categorical, 0..{self.values - 1})"
        return f"{self.name} (continuous, uniform(-1, 1) in training)"


_CODES_HELP = (
    "comma-separated entries cat:K (one K-way categorical code, K >= 2) and cont:N (N continuous "
    "codes, N >= 1), e.g. 'cat:10,cont:2'"
)


def parse_codes(spec: str) -> tuple[Code, ...]:
    """The codes of a layout string such as ``"cat:10,cont:2"`` (c1 = 10-way categorical, c2 and
    c3 continuous); ValueError naming the bad entry and the accepted form otherwise."""
    entries = [e.strip() for e in str(spec).split(",")]
    if not any(entries):
        raise ValueError(f"model.codes={spec!r} holds no code; expected {_CODES_HELP}")
    codes: list[Code] = []
    for entry in entries:
        kind, sep, num = (p.strip() for p in entry.partition(":"))
        kind = kind.lower()
        ok = sep and kind in ("cat", "cont") and num.isdigit()
        count = int(num) if ok else 0
        if not ok or (kind == "cat" and count < 2) or (kind == "cont" and count < 1):
            raise ValueError(
                f"model.codes={spec!r}: entry {entry!r} is not valid; expected {_CODES_HELP}"
            )
        if kind == "cat":
            codes.append(Code(f"c{len(codes) + 1}", "cat", count))
        else:
            codes += [Code(f"c{len(codes) + 1 + i}", "cont") for i in range(count)]
    return tuple(codes)


class CodeSpace:
    """The latents G reads: ``noise_dim`` noise values from `noise` (uniform(-1, 1) or N(0, 1))
    and the codes of a layout; draws them from the prior and fixes code values by name."""

    def __init__(self, codes: tuple[Code, ...], noise_dim: int, noise: str) -> None:
        self.codes, self.noise_dim, self.noise = codes, noise_dim, noise
        self.cat_codes = tuple(k for k in codes if k.kind == "cat")
        self.cont_codes = tuple(k for k in codes if k.kind == "cont")

    def draw(
        self, n: int, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Noise (n, noise_dim), categorical values (n, #cat) and continuous codes (n, #cont),
        drawn on the CPU from the prior (from `generator`, else the global RNG)."""
        if self.noise == "uniform":
            noise = torch.rand(n, self.noise_dim, generator=generator) * 2 - 1
        else:
            noise = torch.randn(n, self.noise_dim, generator=generator)
        cat = (
            torch.stack(
                [torch.randint(0, k.values, (n,), generator=generator) for k in self.cat_codes], 1
            )
            if self.cat_codes
            else torch.zeros(n, 0, dtype=torch.long)
        )
        cont = torch.rand(n, len(self.cont_codes), generator=generator) * 2 - 1
        return noise, cat, cont

    def split(self, name: str) -> tuple[str, int]:
        """(kind, column in the cat or cont tensor) of a code."""
        for group, kind in ((self.cat_codes, "cat"), (self.cont_codes, "cont")):
            for i, k in enumerate(group):
                if k.name == name:
                    return kind, i
        raise ValueError(self._unknown_code(name))

    def _unknown_code(self, name: str) -> str:
        return f"unknown code {name!r} for this infogan; its codes are " + ", ".join(
            k.describe() for k in self.codes
        )

    def fixed_codes(self, codes: dict[str, Any]) -> dict[str, float | int]:
        """Validated code values by name (categorical as int within range, continuous finite)."""
        out: dict[str, float | int] = {}
        for name, value in codes.items():
            kind, i = self.split(name)
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"code {name}={value!r} is not a number") from None
            if isinstance(value, bool) or not math.isfinite(number):
                raise ValueError(f"code {name}={value!r} is not a finite number")
            if kind == "cat":
                k = self.cat_codes[i].values
                if not number.is_integer() or not 0 <= number < k:
                    raise ValueError(
                        f"code {name}={value!r} is out of range; {name} is categorical with "
                        f"integer values 0..{k - 1}"
                    )
                out[name] = int(number)
            else:
                out[name] = number
        return out

    def set_codes(
        self, cat: torch.Tensor, cont: torch.Tensor, fixed: dict[str, float | int | torch.Tensor]
    ) -> None:
        """Overwrite code columns in place by name (a scalar or one value per image)."""
        for name, value in fixed.items():
            kind, i = self.split(name)
            if kind == "cat":
                cat[:, i] = torch.as_tensor(value, dtype=torch.long)
            else:
                cont[:, i] = torch.as_tensor(value, dtype=torch.float32)

    def value_grid(
        self, rows: int, name: str, values: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Latents of a grid: row r holds draw r of the noise and codes (from `generator`),
        code `name` takes `values` along the row."""
        noise, cat, cont = self.draw(rows, generator)
        reps = len(values)
        noise, cat, cont = (t.repeat_interleave(reps, 0) for t in (noise, cat, cont))
        self.set_codes(cat, cont, {name: values.repeat(rows)})
        return noise, cat, cont

    def traversal(
        self,
        name: str,
        row_ids: torch.Tensor,
        values: torch.Tensor,
        rows: int,
        generator: torch.Generator,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Latents of one image per (row id, value): continuous code `name` at the value, the
        first categorical code at the row id, the noise of row draw r (of `rows` draws from
        `generator`) and the other continuous codes at 0."""
        kind, j = self.split(name)
        if kind != "cont":
            raise ValueError(f"{name} is categorical; traversals vary a continuous code")
        noise0, cat0, _ = self.draw(rows, generator)
        noise, cat = noise0[row_ids], cat0[row_ids]
        if self.cat_codes:
            cat[:, 0] = row_ids
        cont = torch.zeros(len(row_ids), len(self.cont_codes))
        cont[:, j] = values
        return noise, cat, cont

    def code_nll(
        self, q: torch.Tensor, cat: torch.Tensor, cont: torch.Tensor, learned_std: bool
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """The codes' negative log-likelihoods under Q's outputs `q` (N, Q outputs: the logits of
        each categorical code in layout order, then the means of the continuous codes and, with
        `learned_std`, their log stds): (summed cross entropy of the categorical codes, Gaussian
        NLL of the continuous codes summed over codes, mean over images); None without such
        codes."""
        ce = nll = None
        start = 0
        if self.cat_codes:
            ce = q.new_zeros(())
            for i, k in enumerate(self.cat_codes):
                ce = ce + F.cross_entropy(q[:, start : start + k.values], cat[:, i].to(q.device))
                start += k.values
        if self.cont_codes:
            m = len(self.cont_codes)
            mean = q[:, start : start + m]
            target = cont.to(q.device)
            if learned_std:
                log_std = q[:, start + m : start + 2 * m]
                per_code = (
                    0.5 * math.log(2 * math.pi)
                    + log_std
                    + 0.5 * ((target - mean) * torch.exp(-log_std)) ** 2
                )
            else:  # std 1: the reference code's fix_std=True
                per_code = 0.5 * math.log(2 * math.pi) + 0.5 * (target - mean) ** 2
            nll = per_code.sum(1).mean()
        return ce, nll
