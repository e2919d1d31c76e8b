"""InfoGAN's latent code layout: ``model.codes`` strings such as ``"cat:10,cont:2"`` and the
codes c1, c2, ... they describe (:mod:`transynth.models.infogan`)."""

from __future__ import annotations

from dataclasses import dataclass


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
