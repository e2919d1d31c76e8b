"""The public Python API; the CLI is a thin layer over these functions."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from transynth.capabilities import comparison_table
from transynth.config import ConfigError, RunConfig, config_from_dict, resolve_config
from transynth.data.types import DomainInfo
from transynth.models.base import Method
from transynth.registry import get_model_class, list_models
from transynth.training.checkpoint import (
    CheckpointError,
    checkpoint_domains,
    load_weights,
    read_checkpoint,
)


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
) -> Path:
    """Train `method` on an embedded task or a folder; returns the run folder.

    With no `data` the method's default embedded task is used. An `out` folder that already
    holds a checkpoint of the same config is resumed.
    """
    from transynth.training.restarts import fit_with_restarts

    if isinstance(overrides, list):
        from transynth.config import parse_overrides

        overrides = parse_overrides(overrides)
    overrides = dict(overrides or {})
    if data is not None:
        overrides["data"] = {**overrides.get("data", {}), "task": str(data)}
    if steps is not None:
        overrides["train"] = {**overrides.get("train", {}), "steps": steps}
    cfg = resolve_config(method, preset=preset, config_file=config_file, overrides=overrides)
    if out is None:
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:
            raise ConfigError(
                "under torchrun, pass --out so that every process writes one run folder"
            )
        out = default_run_dir(cfg)
    return fit_with_restarts(cfg, out)


CHECKPOINT_CHOICES = ("final", "best", "last")


def _checkpoint_path(path: Path, checkpoint: str) -> Path:
    if path.is_file():
        return path
    if checkpoint not in CHECKPOINT_CHOICES:
        raise ValueError(f"checkpoint={checkpoint!r}; accepted: {', '.join(CHECKPOINT_CHOICES)}")
    candidates = {
        # final: the weights at the end of training, else the latest resumable checkpoint
        "final": [path / "model.safetensors", path / "checkpoints" / "last.safetensors"],
        "best": [path / "best.safetensors"],
        "last": [path / "checkpoints" / "last.safetensors"],
    }[checkpoint]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise CheckpointError(
        f"{path} is neither a checkpoint file nor a run folder holding "
        + " or ".join(str(c.relative_to(path)) for c in candidates)
    )


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

    Loading reads safetensors only (no pickle). The run's config is attached as `.run_config`
    and the step the weights were saved at as `.trained_steps`.
    """
    ckpt = _checkpoint_path(Path(path), checkpoint)
    tensors, meta = read_checkpoint(ckpt)
    cfg = config_from_dict(json.loads(meta["config"]))
    model = get_model_class(cfg.method)(
        cfg.model, checkpoint_domains(meta), int(meta["image_size"])
    )
    load_weights(model, tensors, ckpt)
    model.run_config = cfg
    model.trained_steps = int(meta["step"])
    return model.to(device).eval()


def models_table() -> str:
    """The lecture's comparison table for every registered method."""
    return comparison_table({name: get_model_class(name).capabilities for name in list_models()})


__all__ = ["create_model", "default_run_dir", "list_models", "load", "models_table", "train"]
