"""What the trainer decides before the first step: device, task, whether a run may resume."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from transynth.config import ConfigError, RunConfig, TrainConfig
from transynth.data import TaskData, build_task
from transynth.data.types import SampleIndex
from transynth.models.base import Method
from transynth.training.distributed import DistInfo
from transynth.training.sampler import StepBatchSampler

# Keys that may change when a run is resumed: they do not change what is learned.
RESUMABLE_CHANGES = {
    "train.steps",
    "train.eval_every",
    "train.progress",
    "train.tensorboard",
    "train.evaluate",
    "train.log_every",
    "train.sample_every",
    "train.checkpoint_every",
    "data.num_workers",
    "train.device",
}


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"train.device={name!r} but CUDA is not available; use cpu or auto")
    return device


def check_task_fits(method: type[Method], task: TaskData, model_config: Any = None) -> None:
    """Refuse a task of the wrong kind, or one the method's own ``check_task`` refuses under
    `model_config` (when given)."""
    needed = method.capabilities.data_kinds
    if task.kind not in needed:
        kinds = " or ".join(needed)
        raise ConfigError(
            f"{method.name} trains on {kinds} data, but {task.name!r} is {task.kind}; "
            f"see `transynth datasets` for {kinds} tasks"
        )
    if model_config is not None:
        try:
            method.check_task(model_config, task)
        except ValueError as e:
            raise ConfigError(str(e)) from None


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, tuple):  # a saved config comes back from JSON with lists
            v = list(v)
        out.update(_flatten(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


def check_channels_last(model: torch.nn.Module, device: torch.device, batch_size: int) -> None:
    # Eager channels_last InstanceNorm on CPU returns wrong gradients at batch 1 (caught by
    # tests/test_training.py::test_channels_last_matches_fp32_gradients); refuse that combination.
    has_instance_norm = any(isinstance(m, torch.nn.InstanceNorm2d) for m in model.modules())
    if device.type == "cpu" and batch_size == 1 and has_instance_norm:
        raise ConfigError(
            "train.channels_last=true with train.batch_size=1 and instance norm gives wrong "
            "gradients on CPU; use train.batch_size >= 2 or train.channels_last=false"
        )


def task_of(config: RunConfig) -> TaskData:
    """The task a run config trains on (folder splits seeded by train.seed)."""
    return build_task(
        config.data.task,
        config.data.image_size,
        layout=config.data.layout,
        seed=config.train.seed,
        channels=config.data.channels,
    )


def compile_networks(model: Method) -> None:
    """torch.compile each network in place, so that parameter names, checkpoints, the weight
    average and the trainer's requires_grad switching see the same modules as in eager mode."""
    for net in model.networks().values():
        if not hasattr(net, "compile"):  # nn.Module.compile is torch >= 2.2
            raise ConfigError(f"train.compile needs torch >= 2.2 (this is {torch.__version__})")
        net.compile()


def check_resumable(saved: dict[str, Any], config: RunConfig, run_dir: Path) -> None:
    """Refuse to resume a run saved with `saved` (its config dict) under a `config` that would
    change what is learned (RESUMABLE_CHANGES may differ)."""
    # A key added to TrainConfig or to the method's config after the run was saved reads as
    # its default.
    defaults = _flatten(
        {
            "train": dataclasses.asdict(TrainConfig()),
            "model": dataclasses.asdict(type(config.model)()),
        }
    )
    before = {**defaults, **_flatten(saved)}
    now = _flatten(config.to_dict())
    changed = sorted(
        k
        for k in before.keys() | now.keys()
        if before.get(k) != now.get(k) and k not in RESUMABLE_CHANGES
    )
    if changed:
        details = ", ".join(f"{k}: {before.get(k)!r} -> {now.get(k)!r}" for k in changed)
        raise ConfigError(
            f"{run_dir} holds a run with a different config ({details}); "
            "resume it with the same settings or choose a new --out folder"
        )


def training_loader(
    task: TaskData, config: RunConfig, step: int, dist: DistInfo, device: torch.device
) -> DataLoader:
    """The batches of a run from `step` on: this process's share of each step's batch."""
    tc = config.train
    sampler = StepBatchSampler(
        task.train.index_sizes,
        tc.batch_size,
        seed=tc.seed,
        start_step=step,
        rank=dist.rank,
        world_size=dist.world_size,
    )
    return DataLoader(
        task.train,
        batch_sampler=sampler,
        num_workers=config.data.num_workers,
        pin_memory=device.type == "cuda",
        persistent_workers=config.data.num_workers > 0,
        # Its own generator: a DataLoader iterator otherwise draws its worker seed from the
        # global RNG, shifting the dropout/pool stream of a resumed run by one draw.
        generator=torch.Generator().manual_seed(tc.seed),
    )


def fixed_items(task: TaskData, n: int = 8) -> dict[str, torch.Tensor]:
    """The same few test items (train items when there is no test split), collated."""
    split = task.test if len(task.test) else task.train
    items = [
        split[SampleIndex(0, tuple(i % s for s in split.index_sizes))]
        for i in range(min(n, len(split)))
    ]
    return torch.utils.data.default_collate(items)
