"""Trains a tiny CycleGAN; launched by test_distributed.py under torchrun or directly."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from conftest import make_task, replace_evaluation, tiny_overrides  # noqa: E402

from transynth.config import resolve_config  # noqa: E402
from transynth.training import Trainer  # noqa: E402
from transynth.training.restarts import fit_with_restarts  # noqa: E402

# restarts mode: 3 starts of 1 step each, scored by a sum of G_AB's weights (differs by seed)
RESTARTS = {"restarts": 3, "restart_steps": 1, "restart_metric": "score"}


def _score(model, task, **kwargs):
    return {"score": float(next(model.G_AB.parameters()).sum())}


def main(out: str, batch_size: int, steps: int, mode: str = "plain") -> None:
    train = {"steps": steps, "batch_size": batch_size, **(RESTARTS if mode == "restarts" else {})}
    overrides = tiny_overrides("cyclegan", **train)
    overrides["model"]["pool_size"] = 0  # no per-process randomness: runs are comparable
    cfg = resolve_config("cyclegan", overrides=overrides)
    if mode == "restarts":
        replace_evaluation(_score)
        fit_with_restarts(cfg, out, task=make_task("unpaired"))
    else:
        Trainer(cfg, out, task=make_task("unpaired")).fit()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), *sys.argv[4:])
