"""Trains a tiny CycleGAN under torchrun (or alone) for the preemption and multi-node tests.

usage: reliability_worker.py OUT STEPS CHECKPOINT_EVERY [PID_DIR]

Each process writes "PID NODE" to PID_DIR/rank<R>.pid (so a test can signal or kill one rank or
one node's processes) and
prints ``stopped rank R step S`` when a stop signal ended the run (exit 75, as the CLI does).
The image pool is off (RELIABILITY_POOL=N turns it on): per-process randomness makes a resumed
multi-process run differ from an uninterrupted one (see docs/RELIABILITY.md).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from conftest import make_task, tiny_overrides  # noqa: E402

from transynth.config import resolve_config  # noqa: E402
from transynth.training import Trainer  # noqa: E402
from transynth.training.preemption import INTERRUPTED_EXIT, RunInterrupted  # noqa: E402


def main(out: str, steps: int, checkpoint_every: int, pid_dir: str | None = None) -> int:
    rank = int(os.environ.get("RANK", "0"))
    if pid_dir:
        Path(pid_dir).mkdir(parents=True, exist_ok=True)
        node = os.environ.get("GROUP_RANK", "0")  # the node (agent) this process runs under
        (Path(pid_dir) / f"rank{rank}.pid").write_text(f"{os.getpid()} {node}")
    overrides = tiny_overrides("cyclegan", steps=steps, checkpoint_every=checkpoint_every)
    overrides["model"]["pool_size"] = int(os.environ.get("RELIABILITY_POOL", "0"))
    cfg = resolve_config("cyclegan", overrides=overrides)
    try:
        until = os.environ.get("RELIABILITY_UNTIL")  # stop (with a checkpoint) at this step
        Trainer(cfg, out, task=make_task("unpaired")).fit(until=int(until) if until else None)
    except RunInterrupted as stop:
        print(f"stopped rank {rank} step {stop.step}", flush=True)
        return INTERRUPTED_EXIT
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), *sys.argv[4:]))
