"""`transynth benchmark`: train methods on their benchmark entries for a fixed budget, evaluate
them the same way, and write one table (JSON, Markdown, HTML). The entries are data, in each
method's ``configs/<method>/benchmarks.yaml`` (see :mod:`transynth.benchmark.entries`).
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import transynth
from transynth.benchmark.entries import (
    SUITES,
    BenchmarkEntry,
    load_entries,
    select_from,
    with_seed,
)
from transynth.benchmark.tables import read_results, render_markdown, write_tables
from transynth.eval.uncertainty import accuracy_interval
from transynth.fileio import atomic_write_text
from transynth.runfolder import RunFolder

#: Every registered method's entries, in the order of the methods' names.
ENTRIES: tuple[BenchmarkEntry, ...] = load_entries()


def select(names: Sequence[str]) -> list[BenchmarkEntry]:
    """Entries by suite name or entry name; an unknown name is an error listing both."""
    return select_from(ENTRIES, names)


@dataclass
class BenchmarkResult:
    entry: BenchmarkEntry
    steps: int
    batch_size: int
    image_size: int
    amp: str
    train_time_s: float
    wall_time_s: float
    metrics: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        e = self.entry
        return {
            "method": e.method,
            "task": e.task,
            "preset": e.preset,
            "overrides": list(e.overrides),
            "steps": self.steps,
            "batch_size": self.batch_size,
            "image_size": self.image_size,
            "amp": self.amp,
            "train_time_s": self.train_time_s,
            "wall_time_s": self.wall_time_s,
            "metrics": self.metrics,
            "headline": list(e.headline),
            "paper": e.paper,
            "note": e.note,
            "machine": _machine(),
        }


def _machine() -> str:
    import torch

    cores, threads = os.cpu_count(), torch.get_num_threads()
    capability = torch.backends.cpu.get_cpu_capability()  # e.g. AVX2, AVX512: which precision pays
    return (
        f"{platform.machine()} ({capability}), {cores} cores ({threads} threads), "
        f"torch {torch.__version__}"
    )


def run_entry(entry: BenchmarkEntry, out: Path, steps: int | None = None) -> BenchmarkResult:
    """Train and evaluate one entry into out/<name> (resumed if interrupted)."""
    run_dir = out / entry.name
    start = time.time()
    transynth.train(
        entry.method,
        entry.task,
        preset=entry.preset,
        steps=steps,
        out=run_dir,
        overrides=[*entry.overrides, "train.progress=false", "train.evaluate=true"],
    )
    wall = time.time() - start
    cfg = transynth.load(run_dir).run_config
    folder = RunFolder(run_dir)
    last_log = json.loads(folder.log.read_text().splitlines()[-1])
    written = folder.read_metrics()
    if written is None:
        raise FileNotFoundError(f"{folder.metrics} was not written by the run of {entry.name}")
    metrics = written.metrics
    return BenchmarkResult(
        entry,
        cfg.train.steps,
        cfg.train.batch_size,
        cfg.data.image_size,
        written.amp or cfg.train.amp,  # the mode used: train.amp=auto resolved
        round(float(last_log["time"]), 1),
        round(wall, 1),
        metrics,
    )


def run_benchmark(
    names: Sequence[str],
    out: str | Path = "bench_runs",
    results: str | Path | None = None,
    steps: int | None = None,
    seeds: Sequence[int] | None = None,
) -> dict[str, dict[str, Any]]:
    """Run the selected entries (each on every seed of `seeds`, when given); merge their
    results into `results` (JSON) and write the Markdown and HTML tables next to it. Returns
    all results in the file."""
    out = Path(out)
    results_path = results_file(out, results)
    table = read_results(results_path) if results_path.exists() else {}
    entries = select(names)
    if seeds:
        entries = list(dict.fromkeys(with_seed(e, s) for e in entries for s in seeds))
    for entry in entries:
        result = run_entry(entry, out, steps)
        table[entry.name] = result.to_dict()
        atomic_write_text(results_path, json.dumps(table, indent=2) + "\n")
        print(
            f"{entry.name}: {result.train_time_s:.0f} s training, "
            + ", ".join(
                f"{k} {result.metrics[k]:.4g}" for k in entry.headline if k in result.metrics
            ),
            flush=True,
        )
    write_tables(results_path, table)
    return table


def results_file(out: str | Path, results: str | Path | None = None) -> Path:
    """Where a benchmark keeps its results: `results`, or OUT/benchmark.json."""
    return Path(results) if results else Path(out) / "benchmark.json"


__all__ = [
    "ENTRIES",
    "SUITES",
    "BenchmarkEntry",
    "BenchmarkResult",
    "accuracy_interval",
    "render_markdown",
    "results_file",
    "run_benchmark",
    "run_entry",
    "select",
    "with_seed",
    "write_tables",
]
