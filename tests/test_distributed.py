"""Multi-process data parallel training under torchrun (2 CPU processes over gloo).

What resume under DDP guarantees: a resumed run restores the weights, buffers, optimizer state
and step from the checkpoint on every rank, the data order is a function of the step, and each
rank gets its own random state and image pools back (rank 0 gathers them into the checkpoint).
A run resumed by as many processes therefore ends bit for bit where an uninterrupted one ends,
image pools and dropout included (tested with CycleGAN with and without its image pool); one
resumed by a different number of processes starts each rank's stream afresh from (seed, rank,
step).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import transynth

WORKER = Path(__file__).with_name("ddp_worker.py")


#: What torchrun prints when its local rendezvous loses a race for a port on loopback: a
#: failure of the launcher on a busy machine, not of the code under test.
LAUNCHER_RACES = ("Address already in use", "EADDRINUSE", "Connection refused")


def launch(*args: str, processes: int = 2) -> None:
    """Run ddp_worker.py under torchrun; a failure raises with the workers' output. A launch
    whose rendezvous lost a port race (LAUNCHER_RACES) is tried once more."""
    torchrun = shutil.which("torchrun")
    cmd = [torchrun] if torchrun else [sys.executable, "-m", "torch.distributed.run"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    full = [*cmd, "--standalone", "--nproc_per_node", str(processes), str(WORKER), *args]
    for attempt in (1, 2):
        done = subprocess.run(full, env=env, timeout=300, capture_output=True, text=True)
        if done.returncode == 0:
            return
        output = done.stdout + done.stderr
        if attempt == 1 and any(race in output for race in LAUNCHER_RACES):
            continue
        raise AssertionError(f"torchrun exited {done.returncode}:\n{output[-4000:]}")


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


@pytest.fixture(scope="module")
def rank_states(tmp_path_factory):
    """Both ranks' full states after 3 steps of 2 processes (ddp_worker.py, mode states)."""
    out = tmp_path_factory.mktemp("ddp-states")
    launch(str(out), "2", "3", "states")
    states = {
        run: [load_file(out / run / f"rank{r}.safetensors") for r in (0, 1)]
        for run in (
            "cyclegan",
            "unit",
            "cyclegan-resumed",
            "cyclegan-pool",
            "cyclegan-pool-resumed",
        )
    }
    states["averaged"] = [load_file(out / f"averaged-rank{r}.safetensors") for r in (0, 1)]
    return states


def test_average_gradients_divides_the_sum_by_the_world_size(rank_states):
    """Gradients rank + 1 on 2 processes: both must hold (1 + 2) / 2 = 1.5 exactly."""
    for grads in rank_states["averaged"]:
        assert [grads[k].shape for k in sorted(grads)] == [(3, 2), (5,)]
        assert all(torch.equal(g, torch.full_like(g, 1.5)) for g in grads.values()), grads


@pytest.mark.parametrize("run", ["cyclegan", "unit"])
def test_both_ranks_hold_identical_states_after_three_steps(rank_states, run):
    """Weights, buffers (UNIT's batch-norm statistics) and optimizer moments of rank 1 equal
    rank 0's bit for bit: what rank 0 saves is what every rank trained."""
    rank0, rank1 = rank_states[run]
    assert rank0.keys() == rank1.keys() and any(k.startswith("opt/") for k in rank0)
    if run == "unit":
        assert any(k.endswith("running_mean") for k in rank0)
    # each rank's random stream and image pools are its own; everything trained is shared
    shared = [k for k in rank0 if not k.startswith(("rng/", "extra/"))]
    differing = [k for k in shared if not torch.equal(rank0[k], rank1[k])]
    assert not differing, differing


@pytest.mark.parametrize("run", ["cyclegan", "cyclegan-pool"])
def test_a_resumed_two_process_run_equals_the_uninterrupted_one(rank_states, run):
    """Stopped at step 1 and resumed by a new Trainer from its checkpoint, each rank ends where
    the uninterrupted run's rank ends: weights, optimizer moments, image pools and random
    stream. With image pools each rank draws its own random numbers, so this needs every
    rank's random state and pools in the checkpoint (training/rank_state.py)."""
    for straight, resumed in zip(rank_states[run], rank_states[f"{run}-resumed"], strict=True):
        assert straight.keys() == resumed.keys()
        differing = [k for k in straight if not torch.equal(straight[k], resumed[k])]
        assert not differing, differing
