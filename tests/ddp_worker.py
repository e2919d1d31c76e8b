"""Trains a tiny CycleGAN; launched by test_distributed.py under torchrun or directly."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from conftest import make_task, tiny_overrides  # noqa: E402

from transynth.config import resolve_config  # noqa: E402
from transynth.training import Trainer  # noqa: E402


def main(out: str, batch_size: int, steps: int) -> None:
    overrides = tiny_overrides("cyclegan", steps=steps, batch_size=batch_size)
    overrides["model"]["pool_size"] = 0  # no per-process randomness: runs are comparable
    cfg = resolve_config("cyclegan", overrides=overrides)
    Trainer(cfg, out, task=make_task("unpaired")).fit()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
