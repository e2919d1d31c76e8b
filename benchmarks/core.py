"""Trains the CPU presets of the core methods for a fixed budget and records their metrics.

Usage:
    python benchmarks/core.py [ENTRY ...] [--out bench_runs] [--results docs/results/core.json]

Each entry is one `transynth.train` call; its wall time and held-out metrics (metrics.json of the
run) are merged into the results file, which docs/BENCHMARKS.md quotes. Entries:
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

import transynth

ENTRIES: dict[str, dict] = {
    # pix2pix on the paired edges -> digit task, cGAN + L1 as published, and the L1-only ablation
    "pix2pix-edges2mnist": {"method": "pix2pix", "data": "edges2mnist", "overrides": []},
    "pix2pix-edges2mnist-l1only": {
        "method": "pix2pix",
        "data": "edges2mnist",
        "overrides": ["model.lambda_gan=0"],
    },
    "pix2pix-sans2serif": {"method": "pix2pix", "data": "sans2serif", "overrides": []},
    "pix2pix-sans2serif-l1only": {
        "method": "pix2pix",
        "data": "sans2serif",
        "overrides": ["model.lambda_gan=0"],
    },
    # CycleGAN on unpaired MNIST <-> UCI digits, both directions are evaluated
    "cyclegan-mnist2uci": {"method": "cyclegan", "data": "mnist2uci", "overrides": []},
}
__doc__ += "".join(f"    {k}\n" for k in ENTRIES)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "entries", nargs="*", default=list(ENTRIES), help="entries to run (default: all)"
    )
    parser.add_argument("--out", default="bench_runs", help="folder for the runs")
    parser.add_argument("--results", default="docs/results/core.json")
    parser.add_argument("--steps", type=int, help="override every entry's step count")
    args = parser.parse_args()
    unknown = set(args.entries) - set(ENTRIES)
    if unknown:
        sys.exit(f"unknown entries {sorted(unknown)}; known: {', '.join(ENTRIES)}")
    results_path = Path(args.results)
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    for name in args.entries:
        entry = ENTRIES[name]
        overrides = [*entry["overrides"], "train.progress=false"]
        run_dir = Path(args.out) / name
        start = time.time()
        transynth.train(
            entry["method"], entry["data"], steps=args.steps, out=run_dir, overrides=overrides
        )
        wall = time.time() - start
        metrics = json.loads((run_dir / "metrics.json").read_text())
        cfg = transynth.load(run_dir).run_config
        last_log = json.loads((run_dir / "log.jsonl").read_text().splitlines()[-1])
        results[name] = {
            "method": entry["method"],
            "task": entry["data"],
            "overrides": entry["overrides"],
            "steps": cfg.train.steps,
            "batch_size": cfg.train.batch_size,
            "image_size": cfg.data.image_size,
            "amp": cfg.train.amp,
            "train_time_s": round(last_log["time"], 1),
            "wall_time_s": round(wall, 1),  # with data preparation, evaluation and the report
            "metrics": metrics["metrics"],
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}",
        }
        results_path.parent.mkdir(parents=True, exist_ok=True)
        results_path.write_text(json.dumps(results, indent=2) + "\n")
        print(f"{name}: {wall:.0f} s, {json.dumps(metrics['metrics'])}", flush=True)


if __name__ == "__main__":
    main()
