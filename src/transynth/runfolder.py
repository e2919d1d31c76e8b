"""The files of a run folder, and the one schema of its ``metrics.json``.

Every module that reads or writes a run asks :class:`RunFolder` for the path; no other module
spells a file name of a run. A run folder holds::

    config.yaml                   the resolved config (reload or resume with it)
    sizing.json                   how the image size, batch and steps were chosen, and why
    checkpoints/last.safetensors  networks, optimizers, step, image pools, RNG states (resume)
    model.safetensors             weights for inference
    best.safetensors, best.json   the best weights by train.best_metric, and when they were kept
    metrics.json                  held-out metrics (schema: :class:`MetricsRecord`)
    log.jsonl, tensorboard/       losses and learning rates
    samples/step_*.png            sample grids during training
    figures/                      the method's figures (NAME.png, optional NAME.txt caption)
    report.html                   the offline report
    restarts.json, restarts/      the candidates of train.restarts and the choice
    run.lock                      held by the one process training into the folder
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from transynth.fileio import atomic_write_text

#: Which weights of a run folder to read: the end of training (falling back to the latest
#: resumable checkpoint of an unfinished run), the best by train.best_metric, the latest.
CHECKPOINT_CHOICES = ("final", "best", "last")


class RunFolderError(ValueError):
    """A run folder lacks a file that was asked for, or holds one that cannot be read."""


@dataclass(frozen=True)
class MetricsRecord:
    """``metrics.json``: the held-out metrics of a run's weights and where they came from.

    Attributes:
        step: the training step of the weights evaluated.
        metrics: metric name -> value.
        amp: the precision the run trained in (none, bf16, fp16), where known.
        checkpoint: which weights were evaluated (final, best, last or a file name).
        task: the task evaluated on (the training task unless another was asked for).
        evaluated_by: "training" (the trainer's final evaluation) or "transynth evaluate".
    """

    step: int
    metrics: dict[str, float] = field(default_factory=dict)
    amp: str | None = None
    checkpoint: str = "final"
    task: str = ""
    evaluated_by: str = "training"

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any], origin: str = "metrics.json") -> MetricsRecord:
        if not isinstance(data, dict) or "metrics" not in data:
            raise RunFolderError(f"{origin} holds no 'metrics' mapping")
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**{"step": int(data.get("step", 0)), **known})


@dataclass(frozen=True)
class RunFolder:
    """The paths of one run folder (nothing is created until something is written)."""

    path: Path

    def __init__(self, path: str | Path) -> None:
        object.__setattr__(self, "path", Path(path))

    # ---- what training writes ------------------------------------------------------------
    @property
    def config(self) -> Path:
        return self.path / "config.yaml"

    @property
    def sizing(self) -> Path:
        """The sizing decision (transynth.training.sizing): image size, batch, steps, why."""
        return self.path / "sizing.json"

    @property
    def checkpoint(self) -> Path:
        """The latest resumable checkpoint."""
        return self.path / "checkpoints" / "last.safetensors"

    @property
    def weights(self) -> Path:
        """The inference weights at the end of training."""
        return self.path / "model.safetensors"

    @property
    def best(self) -> Path:
        return self.path / "best.safetensors"

    @property
    def best_record(self) -> Path:
        return self.path / "best.json"

    @property
    def metrics(self) -> Path:
        return self.path / "metrics.json"

    @property
    def log(self) -> Path:
        return self.path / "log.jsonl"

    @property
    def tensorboard(self) -> Path:
        return self.path / "tensorboard"

    @property
    def samples(self) -> Path:
        return self.path / "samples"

    def sample_grid(self, step: int) -> Path:
        return self.samples / f"step_{step:07d}.png"

    @property
    def figures(self) -> Path:
        return self.path / "figures"

    @property
    def report(self) -> Path:
        return self.path / "report.html"

    @property
    def restarts_record(self) -> Path:
        return self.path / "restarts.json"

    def restart(self, seed: int) -> RunFolder:
        """The run folder of the candidate started from `seed` (train.restarts)."""
        return RunFolder(self.path / "restarts" / f"seed-{seed}")

    @property
    def lock(self) -> Path:
        return self.path / "run.lock"

    def resumable_files(self) -> tuple[Path, ...]:
        """The files a chosen restart candidate hands on to the run that continues it."""
        return (self.checkpoint, self.log)

    # ---- reading -------------------------------------------------------------------------
    def weights_for(self, choice: str = "final") -> Path:
        """The weights file of `choice` (see CHECKPOINT_CHOICES)."""
        if choice not in CHECKPOINT_CHOICES:
            raise ValueError(f"checkpoint={choice!r}; accepted: {', '.join(CHECKPOINT_CHOICES)}")
        candidates = {
            "final": [self.weights, self.checkpoint],
            "best": [self.best],
            "last": [self.checkpoint],
        }[choice]
        for candidate in candidates:
            if candidate.is_file():
                return candidate
        raise RunFolderError(
            f"{self.path} is neither a checkpoint file nor a run folder holding "
            + " or ".join(str(c.relative_to(self.path)) for c in candidates)
        )

    def read_metrics(self) -> MetricsRecord | None:
        """The run's metrics.json, or None when it has none."""
        if not self.metrics.is_file():
            return None
        try:
            data = json.loads(self.metrics.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise RunFolderError(f"{self.metrics} cannot be read: {err}") from err
        return MetricsRecord.from_dict(data, str(self.metrics))

    def read_sizing(self) -> dict[str, Any] | None:
        """The run's sizing.json, or None when it has none (runs from before sizing)."""
        if not self.sizing.is_file():
            return None
        try:
            return json.loads(self.sizing.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise RunFolderError(f"{self.sizing} cannot be read: {err}") from err

    # ---- writing -------------------------------------------------------------------------
    def write_sizing(self, record: dict[str, Any]) -> Path:
        """Write sizing.json atomically (the folder is created if need be)."""
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.sizing, json.dumps(record, indent=2))
        return self.sizing

    def write_metrics(self, record: MetricsRecord) -> Path:
        """Write metrics.json atomically (the one writer of that file)."""
        atomic_write_text(self.metrics, record.to_json())
        return self.metrics


__all__ = ["CHECKPOINT_CHOICES", "MetricsRecord", "RunFolder", "RunFolderError"]
