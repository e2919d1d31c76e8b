"""Multi-process data parallel training under torchrun (2 CPU processes over gloo)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import torch

import transynth

WORKER = Path(__file__).with_name("ddp_worker.py")


def launch(*args: str, processes: int = 2) -> None:
    torchrun = shutil.which("torchrun")
    cmd = [torchrun] if torchrun else [sys.executable, "-m", "torch.distributed.run"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(
        [*cmd, "--standalone", "--nproc_per_node", str(processes), str(WORKER), *args],
        check=True,
        env=env,
        timeout=300,
        capture_output=True,
    )


def test_two_processes_match_one_process_with_the_global_batch(tmp_path):
    """One step of 2 processes x batch 2 must equal one step of 1 process x batch 4.

    Adam's first update is about lr * sign(gradient) for every weight, so a weight moves by
    +-lr whatever its gradient's size: comparing updated weights elementwise would flag weights
    whose true gradient is ~0 and whose sign float noise decides. What must hold is that almost
    every weight takes the same step; without gradient averaging a large share would not (each
    process would follow its half batch).
    """
    launch(str(tmp_path / "ddp"), "2", "1")
    subprocess.run(
        [sys.executable, str(WORKER), str(tmp_path / "single"), "4", "1"],
        check=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=300,
        capture_output=True,
    )
    ddp, single = transynth.load(tmp_path / "ddp"), transynth.load(tmp_path / "single")
    assert ddp.trained_steps == single.trained_steps == 1
    lr = ddp.run_config.model.lr
    a = torch.cat([p.detach().flatten() for p in ddp.parameters()])
    b = torch.cat([p.detach().flatten() for p in single.parameters()])
    differing = ((a - b).abs() > lr / 2).float().mean().item()
    assert differing < 0.01, f"{differing:.1%} of the weights took a different step"


def test_restarts_under_two_processes_agree_on_the_choice(tmp_path):
    """The choice is made on rank 0 and shared: both processes continue the same seed (a
    disagreement would deadlock or fail the gradient all-reduce), and the run ends trained."""
    launch(str(tmp_path / "run"), "2", "2", "restarts")
    record = json.loads((tmp_path / "run" / "restarts.json").read_text())
    scores = {int(s): m["score"] for s, m in record["candidates"].items()}
    assert sorted(scores) == [0, 1, 2] and record["chosen"] == max(scores, key=scores.get)
    model = transynth.load(tmp_path / "run")
    assert model.trained_steps == 2 and model.run_config.train.seed == record["chosen"]
