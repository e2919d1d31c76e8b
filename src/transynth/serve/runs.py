"""The trained runs under RUNS_DIR, found by walking it, and the only files the app may read.

Every file the app opens is reached through `RunIndex`: a run is named by its path relative to
RUNS_DIR as found by the walk (never by a path taken from a request), symbolic links are not
followed into folders, and each file is resolved and checked to lie inside RUNS_DIR, so `../`,
absolute paths and links that point outside are refused.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from transynth.runfolder import RunFolder

#: Metric names shown first in the run list, by these substrings.
HEADLINE_KEYS = ("accuracy", "fid", "psnr", "ssim", "nmi")


class RunNotFound(LookupError):
    """A run name or file that is not an allowed file of a run under RUNS_DIR."""


@dataclass
class RunEntry:
    """One run folder: its name (path relative to RUNS_DIR) and what the list shows of it."""

    name: str
    path: Path
    method: str
    task: str
    step: int | None
    metrics: dict[str, float] = field(default_factory=dict)
    has_report: bool = False

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "method": self.method,
            "task": self.task,
            "step": self.step,
            "metrics": self.metrics,
            "report": self.has_report,
        }


def headline_metrics(metrics: dict[str, Any], limit: int = 3) -> dict[str, float]:
    """Up to `limit` numeric metrics, those naming an accuracy, FID, PSNR, ... first."""
    numeric = {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))}

    def rank(key: str) -> int:
        hits = [i for i, word in enumerate(HEADLINE_KEYS) if word in key.lower()]
        return hits[0] if hits else len(HEADLINE_KEYS)

    return {k: numeric[k] for k in sorted(numeric, key=rank)[:limit]}


class RunIndex:
    """The runs under `root` (re-scanned on demand) and a small cache of loaded models."""

    def __init__(self, root: str | Path, *, max_depth: int = 4, cache_size: int = 4) -> None:
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise FileNotFoundError(f"RUNS_DIR {root} is not a folder")
        self.max_depth = max_depth
        self.cache_size = cache_size
        self._models: OrderedDict[tuple[str, float], Any] = OrderedDict()
        self._lock = threading.Lock()

    def inside(self, path: Path) -> Path:
        """`path` resolved (links followed); RunNotFound unless it lies inside the root."""
        resolved = path.resolve()
        if not resolved.is_relative_to(self.root):
            raise RunNotFound(f"{path.name} lies outside RUNS_DIR")
        return resolved

    def _file(self, candidate: Path) -> Path | None:
        """`candidate` resolved, if it is a file inside the root (None otherwise)."""
        try:
            resolved = self.inside(candidate)
        except RunNotFound:
            return None
        return resolved if resolved.is_file() else None

    def _checkpoint(self, folder: Path) -> Path | None:
        """The weights `transynth.load` reads by default: the final ones, else the latest."""
        run = RunFolder(folder)
        return self._file(run.weights) or self._file(run.checkpoint)

    def scan(self) -> dict[str, RunEntry]:
        """Run name -> entry for every folder holding config.yaml and a checkpoint."""
        runs: dict[str, RunEntry] = {}
        for folder, dirs, _ in os.walk(self.root, followlinks=False):
            here = Path(folder)
            depth = len(here.relative_to(self.root).parts)
            dirs[:] = (
                sorted(d for d in dirs if not d.startswith(".")) if depth < self.max_depth else []
            )
            config = self._file(RunFolder(here).config)
            if config is None or self._checkpoint(here) is None:
                continue
            entry = self._entry(here, config)
            if entry is not None:
                runs[entry.name] = entry
        return runs

    def _entry(self, folder: Path, config: Path) -> RunEntry | None:
        try:
            cfg = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            return None
        if not isinstance(cfg, dict) or "method" not in cfg:
            return None
        step, metrics = None, {}
        metrics_file = self._file(RunFolder(folder).metrics)
        if metrics_file is not None:
            try:
                data = json.loads(metrics_file.read_text(encoding="utf-8"))
                step = data.get("step")
                metrics = headline_metrics(data.get("metrics", {}))
            except (OSError, ValueError, AttributeError):
                pass  # an unreadable metrics file: the run is still listed, without metrics
        name = folder.relative_to(self.root).as_posix()
        return RunEntry(
            name=name if name != "." else folder.name,
            path=folder,
            method=str(cfg["method"]),
            task=str((cfg.get("data") or {}).get("task", "?")),
            step=step,
            metrics=metrics,
            has_report=self._file(RunFolder(folder).report) is not None,
        )

    def get(self, name: str) -> RunEntry:
        """The run called `name`; RunNotFound listing the known runs otherwise."""
        runs = self.scan()
        if name not in runs:
            known = ", ".join(sorted(runs)) or "none"
            raise RunNotFound(f"no run {name!r} under RUNS_DIR; runs: {known}")
        return runs[name]

    def report(self, name: str) -> Path:
        """The report.html of run `name`, checked to lie inside the root."""
        path = self._file(RunFolder(self.get(name).path).report)
        if path is None:
            raise RunNotFound(f"run {name!r} has no report.html inside RUNS_DIR")
        return path

    def model(self, name: str) -> Any:
        """The loaded method of run `name` (cached by its checkpoint's modification time)."""
        import transynth

        entry = self.get(name)
        checkpoint = self._checkpoint(entry.path)
        if checkpoint is None:
            raise RunNotFound(f"run {name!r} has no weights inside RUNS_DIR")
        key = (name, checkpoint.stat().st_mtime)
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key]
        model = transynth.load(checkpoint)
        with self._lock:
            self._models[key] = model
            while len(self._models) > self.cache_size:
                self._models.popitem(last=False)
        return model
