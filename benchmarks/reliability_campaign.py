"""Signal campaign: `transynth train` runs stopped at random moments, each resumed to the end.

Usage:
    OMP_NUM_THREADS=1 python benchmarks/reliability_campaign.py [--runs 12] [--signals TERM KILL]
        [--steps 200] [--checkpoint-every 50] [--seed S] [--out DIR] [--json FILE]

First one uninterrupted run (the reference, timed). Then, for each signal, `--runs` runs of
the same command, each sent the signal at a moment drawn uniformly from the reference's wall
time (so start-up, steps, checkpoint writes and the final report can all be hit), then resumed
by running the same command until it exits 0. A run counts as exact when its final weights
equal the reference's bit for bit. For each run it records the exit status after the signal,
the step the signal found (steps logged), the step the run resumed from, and the steps lost
(logged but not in the checkpoint). The CLI trains a tiny CycleGAN with its image pool on (a
random stream the resume must continue) on the bundled mnist2uci task.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from safetensors.torch import load_file

ARGS = [
    "train", "cyclegan", "--data", "mnist2uci", "--data.image_size", "16",
    "--model.ngf", "4", "--model.ndf", "4", "--model.n_blocks", "1", "--model.d_layers", "1",
    "--model.pool_size", "4", "--train.batch_size", "2", "--train.evaluate", "false",
    "--train.progress", "false", "--train.tensorboard", "false", "--train.log_every", "1",
    "--train.sample_every", "1000",
]  # fmt: skip


def command(run: Path, steps: int, every: int) -> list[str]:
    base = [sys.executable, "-m", "transynth.cli", *ARGS, "--steps", str(steps)]
    return [*base, "--train.checkpoint_every", str(every), "--out", str(run)]


def logged_steps(run: Path) -> int:
    try:
        return len((run / "log.jsonl").read_text().splitlines())
    except FileNotFoundError:
        return 0


def checkpoint_step(run: Path) -> int:
    from transynth.training.checkpoint import read_checkpoint

    path = run / "checkpoints" / "last.safetensors"
    return int(read_checkpoint(path)[1]["step"]) if path.exists() else 0


def same_weights(a: Path, b: Path) -> bool:
    wa, wb = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    return wa.keys() == wb.keys() and all(wa[k].equal(wb[k]) for k in wa)


def one_run(run: Path, cmd: list[str], sig: signal.Signals, delay: float) -> dict:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    found = logged_steps(run)
    proc.send_signal(sig)
    _, err = proc.communicate()
    record = {
        "signal": sig.name,
        "delay_s": round(delay, 3),
        "steps_logged_at_signal": found,
        "exit": proc.returncode,
        "resumed_from": checkpoint_step(run),
        "steps_lost": max(0, logged_steps(run) - checkpoint_step(run)),
        "message": err.strip().splitlines()[-1] if err.strip() else "",
    }
    resumes = 0
    while True:  # the same command again, until it completes
        done = subprocess.run(cmd, capture_output=True, text=True)
        resumes += 1
        if done.returncode == 0:
            break
        if resumes >= 3:
            record["resume_error"] = done.stderr[-2000:]
            break
    record["resumes"] = resumes
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--signals", nargs="+", default=["TERM", "KILL"])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--checkpoint-every", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0, help="seed of the random moments")
    parser.add_argument("--out", help="folder for the runs (default: a temporary one)")
    parser.add_argument("--json", help="write every run's record here")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    out = Path(args.out or tempfile.mkdtemp(prefix="reliability-"))
    rng = random.Random(args.seed)

    reference = out / "reference"
    shutil.rmtree(reference, ignore_errors=True)
    started = time.time()
    subprocess.run(command(reference, args.steps, args.checkpoint_every), check=True)
    wall = time.time() - started
    print(f"reference: {args.steps} steps in {wall:.1f} s")

    records = []
    for name in args.signals:
        sig = signal.Signals[f"SIG{name}"]
        for k in range(args.runs):
            run = out / f"{name.lower()}-{k:02d}"
            shutil.rmtree(run, ignore_errors=True)
            cmd = command(run, args.steps, args.checkpoint_every)
            record = one_run(run, cmd, sig, rng.uniform(0, wall))
            record["exact"] = record.get("resume_error") is None and same_weights(reference, run)
            records.append(record)
            print(json.dumps(record))
    for name in args.signals:
        mine = [r for r in records if r["signal"] == f"SIG{name}"]
        exact = sum(r["exact"] for r in mine)
        codes = sorted({r["exit"] for r in mine})
        lost = [r["steps_lost"] for r in mine]
        print(
            f"SIG{name}: {exact}/{len(mine)} bit-identical to the uninterrupted run; exit "
            f"statuses {codes}; steps lost per run: max {max(lost)}, total {sum(lost)}"
        )
    if args.json:
        summary = {"steps": args.steps, "checkpoint_every": args.checkpoint_every}
        summary |= {"seed": args.seed, "reference_wall_s": round(wall, 1), "runs": records}
        Path(args.json).write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
