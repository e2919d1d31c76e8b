"""Every method builds and trains one step at its PAPER preset's full image size.

The CPU presets are exercised end to end elsewhere; the paper presets (256 px translators, 128 px
StarGAN, the papers' widths and depths) are what GPU users run, and a shape that only breaks at
full size would otherwise surface hours into a cluster job. Batch of 2 on synthetic images."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import make_task

import transynth
from transynth.config import resolve_config
from transynth.registry import get_model_class
from transynth.training import Trainer

_QUIET = {
    "batch_size": 2,
    "progress": False,
    "tensorboard": False,
    "evaluate": False,
    "amp": "none",
}


@pytest.mark.slow
@pytest.mark.parametrize("method", transynth.list_models())
def test_paper_preset_trains_one_step_at_full_size(method, tmp_path):
    overrides = {"train": _QUIET, "data": {"num_workers": 0}}
    cfg = resolve_config(method, preset="paper", overrides=overrides)
    size = cfg.data.image_size
    kind = get_model_class(method).capabilities.data_kinds[0]
    task = make_task(kind, size=size, n=4)
    trainer = Trainer(cfg, tmp_path, task=task)
    torch.manual_seed(0)
    batch = trainer._to_device(next(iter(trainer._loader())))
    # The first steps and the last: DTN pre-trains f before any g or D phase.
    steps = [*range(8), cfg.train.steps - 1]
    phases = {p for step in steps for p in trainer.model.phases(step)}
    assert phases, method
    for phase in sorted(phases):
        losses = trainer._run_phase(phase, batch)
        assert losses, (method, phase)
        for name, value in losses.items():
            assert math.isfinite(float(value)), (method, phase, name, float(value))
