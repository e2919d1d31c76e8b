"""Best of several starts: train a few seeds briefly, keep the one a metric prefers.

GAN runs from different seeds can settle in different optima: InfoGAN's categorical code may
give one digit two values and another none, and a short run cannot leave that basin. The
InfoGAN authors chose the codes they show "from multiple runs". This makes that choice a
recorded, reproducible part of a run: with ``train.restarts = N``, seeds ``seed .. seed+N-1``
each train ``train.restart_steps`` steps (under the full run's schedule) in
``RUN/restarts/seed-S/``, each is scored by ``train.restart_metric`` (on the averaged weights
when ``train.ema`` is on), and the best one's checkpoint becomes the run's, which then
continues to ``train.steps``. Resuming is exact, so the result is the plain run of the chosen
seed, bit for bit.

Pick a metric that uses no labels (e.g. InfoGAN's ``c1/q_train_mutual_information``): a
choice made with test labels would be a selection on the test set. ``RUN/restarts.json`` holds
every candidate's metrics and the choice, and an interrupted choice resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import torch.distributed as dist

from transynth.config import ConfigError, RunConfig
from transynth.data import TaskData
from transynth.eval.selection import check_selection_metrics
from transynth.fileio import atomic_write_text
from transynth.runfolder import RunFolder
from transynth.training import distributed as D
from transynth.training.runlock import hold_for_run
from transynth.training.setup import resolve_device, task_of
from transynth.training.trainer import Trainer


def with_seed(config: RunConfig, seed: int) -> RunConfig:
    return dataclasses.replace(config, train=dataclasses.replace(config.train, seed=seed))


def _load_record(path: Path, config: RunConfig) -> dict[str, Any]:
    tc = config.train
    fresh = {
        "metric": tc.restart_metric,
        "mode": tc.restart_mode,
        "steps": tc.restart_steps,
        "seeds": [tc.seed + k for k in range(tc.restarts)],
        "candidates": {},
    }
    if not path.exists():
        return fresh
    record = json.loads(path.read_text())
    settings = {k: record.get(k) for k in ("metric", "mode", "steps", "seeds")}
    if settings != {k: fresh[k] for k in settings}:
        raise ConfigError(
            f"{path} records restarts {settings}, not the requested "
            f"{ {k: fresh[k] for k in settings} }; resume with the same train.restart_* "
            "settings or choose a new --out folder"
        )
    return record


def _share(value: Any, enabled: bool) -> Any:
    """Rank 0's `value` on every process (the choice must agree under DDP)."""
    if not enabled:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def _best(candidates: dict[str, dict[str, float]], metric: str, mode: str) -> int:
    def key(seed: str) -> float:
        value = candidates[seed][metric]
        return value if mode == "max" else -value

    return int(max(candidates, key=key))  # ties: the first seed, as dicts keep order


def fit_with_restarts(config: RunConfig, run_dir: str | Path, task: TaskData | None = None) -> Path:
    """Train `config` into `run_dir`, choosing its seed among ``train.restarts`` starts."""
    tc = config.train
    check_selection_metrics(tc)  # before the lock creates the run folder
    run_dir = Path(run_dir)
    info = D.init_distributed(resolve_device(tc.device).type)
    # Locked before the task is built, so that a second trainer stops at once; the candidates'
    # folders and the choice belong to the run.
    with hold_for_run(run_dir, info):
        if tc.restarts <= 1:
            return Trainer(config, run_dir, task).fit()
        return _fit_with_restarts(config, run_dir, task, info)


def _fit_with_restarts(
    config: RunConfig, run_dir: Path, task: TaskData | None, info: D.DistInfo
) -> Path:
    tc = config.train
    task = task or task_of(config)  # one task (and folder split) for every candidate
    folder = RunFolder(run_dir)
    record_path = folder.restarts_record
    if folder.checkpoint.exists() and not record_path.exists():
        raise ConfigError(
            f"{run_dir} holds a run trained without train.restarts; resume it without them or "
            "choose a new --out folder (its checkpoint would be replaced by a candidate's)"
        )
    record = _load_record(record_path, config)
    for seed in record["seeds"]:
        if "chosen" in record or str(seed) in record["candidates"]:
            continue
        trainer = Trainer(with_seed(config, seed), folder.restart(seed).path, task)
        trainer.fit(until=tc.restart_steps)
        metrics = _share(trainer.score() if info.is_main else None, info.enabled)
        if tc.restart_metric not in metrics:
            raise ConfigError(
                f"train.restart_metric={tc.restart_metric!r} is not among this run's metrics: "
                + ", ".join(sorted(metrics))
            )
        record["candidates"][str(seed)] = metrics
        if info.is_main:
            atomic_write_text(record_path, json.dumps(record, indent=2))
    if "chosen" not in record:
        record["chosen"] = _best(record["candidates"], tc.restart_metric, tc.restart_mode)
        if info.is_main:
            _adopt(folder.restart(record["chosen"]), folder)
            atomic_write_text(record_path, json.dumps(record, indent=2))
        D.barrier(info)
    return Trainer(with_seed(config, record["chosen"]), run_dir, task).fit()


def _adopt(candidate: RunFolder, run: RunFolder) -> None:
    """Make the chosen candidate's checkpoint and log the run's own (copied, each atomically:
    a crash leaves either nothing or the complete file)."""
    for source, target in zip(candidate.resumable_files(), run.resumable_files(), strict=True):
        if not source.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        shutil.copyfile(source, partial)
        partial.replace(target)
