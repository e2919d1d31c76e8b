"""The public Python API; the CLI is a thin layer over these functions."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from transynth import eval as evaluation
from transynth.capabilities import comparison_table
from transynth.config import ConfigError, RunConfig, config_from_dict, resolve_config
from transynth.data.types import DomainInfo
from transynth.eval.selection import check_selection_metrics
from transynth.models.base import Method
from transynth.registry import get_model_class, list_models
from transynth.runfolder import MetricsRecord, RunFolder
from transynth.training.checkpoint import checkpoint_domains, load_weights, read_checkpoint
from transynth.training.setup import task_of


def create_model(
    method: str,
    domains: Sequence[DomainInfo],
    image_size: int,
    *,
    preset: str = "cpu",
    overrides: list[str] | dict[str, dict[str, Any]] | None = None,
) -> Method:
    """A freshly initialised method for the given domains (see `transynth models`)."""
    cfg = resolve_config(method, preset=preset, overrides=overrides)
    return get_model_class(method)(cfg.model, tuple(domains), image_size)


def default_run_dir(cfg: RunConfig) -> Path:
    """runs/<method>-<task>-<timestamp>, never an existing folder."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", Path(cfg.data.task).name or cfg.data.task).strip("-")
    base = Path("runs") / f"{cfg.method}-{slug}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def train(
    method: str,
    data: str | None = None,
    *,
    preset: str = "cpu",
    config_file: str | Path | None = None,
    steps: int | None = None,
    out: str | Path | None = None,
    overrides: list[str] | dict[str, dict[str, Any]] | None = None,
    budget_minutes: float | None = None,
    announce: Callable[[str], None] | None = None,
) -> Path:
    """Train `method` on an embedded task or a folder; returns the run folder.

    With no `data` the method's default embedded task is used. An `out` folder that already
    holds a checkpoint of the same config is resumed. A preset with a ``sizing`` block (the cpu
    presets) trains a folder at the data's resolution up to the preset's cap, with batch and
    steps fitting `budget_minutes` of CPU (default 15), unless the user sets them
    (:mod:`transynth.training.sizing`); the decision is written to the run's ``sizing.json``
    and its one-line summary passed to `announce` (the CLI prints it) before training.
    """
    from transynth.training.restarts import fit_with_restarts

    cfg, sizing = plan_run(
        method,
        data,
        preset=preset,
        config_file=config_file,
        steps=steps,
        overrides=overrides,
        budget_minutes=budget_minutes,
    )
    if announce is not None:
        announce(sizing["line"])
    if out is None:
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:
            raise ConfigError(
                "under torchrun, pass --out so that every process writes one run folder"
            )
        out = default_run_dir(cfg)
    check_selection_metrics(cfg.train)  # refused before anything is written
    if int(os.environ.get("RANK", "0")) == 0:
        RunFolder(out).write_sizing(sizing)
    return fit_with_restarts(cfg, out)


def plan_run(
    method: str,
    data: str | None = None,
    *,
    preset: str = "cpu",
    config_file: str | Path | None = None,
    steps: int | None = None,
    overrides: list[str] | dict[str, dict[str, Any]] | None = None,
    budget_minutes: float | None = None,
) -> tuple[RunConfig, dict[str, Any]]:
    """The config :func:`train` would train with (sized to the data) and the sizing record."""
    from transynth.config import parse_overrides, read_yaml
    from transynth.training.sizing import plan_sizing, user_set_keys

    if isinstance(overrides, list):
        overrides = parse_overrides(overrides)
    overrides = {k: dict(v) for k, v in (overrides or {}).items()}
    if data is not None:
        overrides["data"] = {**overrides.get("data", {}), "task": str(data)}
    if steps is not None:
        overrides["train"] = {**overrides.get("train", {}), "steps": steps}
    cfg = resolve_config(method, preset=preset, config_file=config_file, overrides=overrides)
    user = user_set_keys(read_yaml(config_file) if config_file else None, overrides)
    plan = plan_sizing(cfg, preset, user, budget_minutes)
    return plan.config, plan.record


def load(
    path: str | Path, device: str | torch.device = "cpu", *, checkpoint: str = "final"
) -> Method:
    """A trained method from a run folder or a checkpoint file, in eval mode on `device`.

    Args:
        path: a run folder or a checkpoint file.
        device: where to put the networks.
        checkpoint: for a run folder, "final" (end of training), "best" (by
            `train.best_metric`) or "last" (the latest resumable checkpoint). With
            `train.ema`, "final" and "best" hold the moving average of the weights (unless
            `train.best_metric` is a ``raw/`` metric) and "last" the live weights; "final" of
            an unfinished run falls back to "last".

    Loading reads safetensors only (no pickle). The returned method's ``run_config`` is the
    run's config and ``trained_steps`` the step the weights were saved at.
    """
    path = Path(path)
    ckpt = path if path.is_file() else RunFolder(path).weights_for(checkpoint)
    tensors, meta = read_checkpoint(ckpt)
    cfg = config_from_dict(json.loads(meta["config"]))
    model = get_model_class(cfg.method)(
        cfg.model, checkpoint_domains(meta), int(meta["image_size"])
    )
    load_weights(model, tensors, ckpt)
    model.run_config = cfg
    model.trained_steps = int(meta["step"])
    return model.to(device).eval()


def evaluate(
    run: str | Path,
    data: str | None = None,
    *,
    checkpoint: str = "final",
    write: bool = True,
) -> dict[str, float]:
    """Held-out metrics of a trained run (the protocols its method declares).

    Args:
        run: a run folder (or a checkpoint file: then nothing is written).
        data: another embedded task or folder to evaluate on; default: the training task.
        checkpoint: which weights of a run folder (see :func:`load`).
        write: write the run folder's ``metrics.json`` (its one schema, see
            :class:`transynth.runfolder.MetricsRecord`).
    """
    model = load(run, checkpoint=checkpoint)
    cfg = model.run_config
    task = task_of(cfg if data is None else cfg.replace("data", task=str(data)))
    metrics = evaluation.evaluate(model, task)
    folder = RunFolder(run)
    if write and folder.path.is_dir():
        previous = folder.read_metrics()
        folder.write_metrics(
            MetricsRecord(
                step=int(model.trained_steps or 0),
                metrics=metrics,
                amp=_trained_amp(previous, cfg),
                checkpoint=checkpoint,
                task=task.name,
                evaluated_by="transynth evaluate",
            )
        )
    return metrics


def _trained_amp(previous: MetricsRecord | None, cfg: RunConfig) -> str | None:
    """The precision a run trained in: recorded by its trainer, or set explicitly."""
    if previous is not None and previous.amp:
        return previous.amp
    return cfg.train.amp if cfg.train.amp != "auto" else None


def models_table() -> str:
    """The lecture's comparison table for every registered method."""
    return comparison_table({name: get_model_class(name).capabilities for name in list_models()})


__all__ = [
    "create_model",
    "default_run_dir",
    "evaluate",
    "list_models",
    "load",
    "models_table",
    "plan_run",
    "train",
]
