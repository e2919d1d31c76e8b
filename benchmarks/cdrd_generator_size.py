"""Parameter counts of CDRD's generator: shared G_C and private G_S, per ``model.g_layout``.

    python benchmarks/cdrd_generator_size.py

The reference code (ycliu93/CDRD, 28 px) shares four up-convolutions from the 1x1 code [z, l]
(z_dim 100, 10 classes): 4*110*1024 + 9*1024*512 + 9*512*256 + 9*256*128 weights plus biases,
6,645,632 parameters; its private layer is a 4x4 up-convolution to one channel (2,049).
"""

from __future__ import annotations

from transynth.config import resolve_config
from transynth.data import DomainInfo
from transynth.registry import get_model_class


def count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def main() -> None:
    domains = (DomainInfo("mnist", 1, 10), DomainInfo("uci-digits", 1, 10))
    print("preset  layout     size  ngf  G_C (shared)  G_S (private)")
    for preset, overrides in (
        ("paper", []),
        ("paper", ["model.g_layout=dcgan"]),
        ("paper", ["model.g_layout=reference", "model.g_norm=none"]),
        ("cpu", []),
    ):
        cfg = resolve_config("cdrd", preset=preset, overrides=overrides)
        m = cfg.model
        model = get_model_class("cdrd")(m, domains, cfg.data.image_size)
        norm = "" if m.g_norm == "batch" else " (no G norm)"
        print(
            f"{preset:<7} {m.g_layout:<9} {cfg.data.image_size:>5} {m.ngf:>4}  "
            f"{count(model.G_C):>12,}  {count(model.G_S):>13,}{norm}"
        )


if __name__ == "__main__":
    main()
