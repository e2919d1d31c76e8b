"""Checkpoints: one safetensors file per checkpoint, written atomically, loaded without pickle.

Layout of the tensors (flat keys):
    net/<network>/<state-dict key>       weights and buffers of each network
    optim/<phase>/<param index>/<key>    optimizer state tensors (Adam moments, step counts)
    extra/<key>                          the method's extra state (e.g. image pools)
    rng/torch, rng/cuda/<i>              random generator states
    ema/<network>/<state-dict key>       the trainer's moving average of the weights (train.ema)
The header metadata (strings only) holds JSON: the run config, the step, the domains, optimizer
hyper-parameters and non-tensor optimizer state, gradient-scaler state.

A checkpoint is first written to a temporary file in the same folder, flushed to disk, then
renamed over the old one (os.replace is atomic): a crash mid-write leaves the previous checkpoint
intact. safetensors stores raw tensors only, so loading one can never execute code.
"""

from __future__ import annotations

import errno
import json
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from transynth.data.types import DomainInfo
from transynth.fileio import atomic_path, atomic_write_text  # noqa: F401 (re-exported)

FORMAT = "transynth-checkpoint-v1"


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable or does not fit the model."""


def _flatten_optimizer(phase: str, opt: torch.optim.Optimizer, tensors: dict, meta: dict) -> None:
    state = opt.state_dict()
    scalars: dict[str, dict[str, Any]] = {}
    for idx, pstate in state["state"].items():
        for key, value in pstate.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim/{phase}/{idx}/{key}"] = value
            else:
                scalars.setdefault(str(idx), {})[key] = value
    meta[phase] = {"param_groups": state["param_groups"], "scalars": scalars}


def _unflatten_optimizer(phase: str, tensors: dict, meta: dict) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    prefix = f"optim/{phase}/"
    for key, value in tensors.items():
        if key.startswith(prefix):
            idx, name = key[len(prefix) :].split("/", 1)
            state.setdefault(int(idx), {})[name] = value
    for idx, scalars in meta[phase]["scalars"].items():
        state.setdefault(int(idx), {}).update(scalars)
    groups = meta[phase]["param_groups"]
    for group in groups:
        if "betas" in group:
            group["betas"] = tuple(group["betas"])
    return {"state": state, "param_groups": groups}


class DiskFull(OSError):
    """The disk (or quota) filled up while writing a checkpoint; the previous one is intact."""


def _is_disk_full(err: BaseException) -> bool:
    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    # safetensors reports I/O errors as SafetensorError("... (os error 28)")
    return f"(os error {errno.ENOSPC})" in str(err) or f"(os error {errno.EDQUOT})" in str(err)


def _disk_full(path: Path, needed: int, err: BaseException) -> DiskFull:
    try:
        free = f"{shutil.disk_usage(path.parent).free / 2**20:.1f} MiB free"
    except OSError:
        free = "free space unknown"
    kept = (
        f"the previous checkpoint {path} is intact"
        if path.exists()
        else f"no checkpoint was written (there was none at {path} before)"
    )
    return DiskFull(
        errno.ENOSPC,
        f"disk full while writing checkpoint {path} (about {needed / 2**20:.1f} MiB needed, "
        f"{free} on the file system of {path.parent}): {kept}. Free some space (or choose an "
        f"--out folder on another disk) and run the same command again to resume. ({err})",
    )


def atomic_save(tensors: dict[str, torch.Tensor], metadata: dict[str, str], path: Path) -> None:
    """Write a safetensors file so that `path` is either the old file or the complete new one.

    DiskFull if the disk fills up part-way: the partial file is removed, `path` is untouched.
    """
    path = Path(path)
    # safetensors needs contiguous CPU tensors that share no memory.
    clean = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    try:
        with atomic_path(path) as tmp:
            save_file(clean, str(tmp), metadata=metadata)
    except Exception as err:
        if not _is_disk_full(err):
            raise
        needed = sum(v.numel() * v.element_size() for v in clean.values())
        raise _disk_full(path, needed, err) from err


def save_checkpoint(
    path: Path,
    *,
    model: torch.nn.Module,
    step: int,
    config: dict[str, Any],
    optimizers: dict[str, torch.optim.Optimizer] | None = None,
    scalers: dict[str, Any] | None = None,
    with_rng: bool = True,
    extra_tensors: dict[str, torch.Tensor] | None = None,
    extra_metadata: dict[str, str] | None = None,
) -> None:
    """Save everything a resumed run needs (or, with no optimizers, weights for inference).

    `extra_tensors` / `extra_metadata` carry trainer state outside the model (the weight
    average: ``ema/...`` tensors and an ``ema`` metadata entry)."""
    tensors: dict[str, torch.Tensor] = dict(extra_tensors or {})
    for name, net in model.networks().items():
        for key, value in net.state_dict().items():
            tensors[f"net/{name}/{key}"] = value
    for key, value in model.extra_state().items():
        tensors[f"extra/{key}"] = value
    optim_meta: dict[str, Any] = {}
    for phase, opt in (optimizers or {}).items():
        _flatten_optimizer(phase, opt, tensors, optim_meta)
    if with_rng:
        tensors["rng/torch"] = torch.get_rng_state()
        if torch.cuda.is_available():
            for i, s in enumerate(torch.cuda.get_rng_state_all()):
                tensors[f"rng/cuda/{i}"] = s
    metadata = {
        "format": FORMAT,
        "method": model.name,
        "step": str(step),
        "config": json.dumps(config),
        "domains": json.dumps([asdict(d) for d in model.domains]),
        "image_size": str(model.image_size),
        "optimizers": json.dumps(optim_meta),
        "scalers": json.dumps({k: v.state_dict() for k, v in (scalers or {}).items()}),
        **(extra_metadata or {}),
    }
    atomic_save(tensors, metadata, path)


def read_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """All tensors and the metadata of a checkpoint file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            metadata = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as err:  # safetensors raises its own error types for corrupt headers
        raise CheckpointError(
            f"checkpoint {path} is not a readable safetensors file: {err}"
        ) from err
    if metadata.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is not a transynth checkpoint (format {metadata.get('format')!r})"
        )
    return tensors, metadata


def checkpoint_domains(metadata: dict[str, str]) -> tuple[DomainInfo, ...]:
    return tuple(
        DomainInfo(d["name"], d["channels"], d.get("num_classes"), tuple(d.get("class_names", ())))
        for d in json.loads(metadata["domains"])
    )


def load_weights(model: torch.nn.Module, tensors: dict[str, torch.Tensor], path: Path) -> None:
    """Load every network's weights strictly (a missing or extra key is an error naming it)."""
    for name, net in model.networks().items():
        prefix = f"net/{name}/"
        state = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        try:
            net.load_state_dict(state, strict=True)
        except RuntimeError as err:
            raise CheckpointError(f"{path}: weights of {name} do not fit the model: {err}") from err
    model.load_extra_state({k[6:]: v for k, v in tensors.items() if k.startswith("extra/")})


def restore_training_state(
    tensors: dict[str, torch.Tensor],
    metadata: dict[str, str],
    optimizers: dict[str, torch.optim.Optimizer],
    scalers: dict[str, Any],
) -> int:
    """Restore optimizers, scalers and RNG states; returns the step to continue from."""
    optim_meta = json.loads(metadata["optimizers"])
    for phase, opt in optimizers.items():
        if phase not in optim_meta:
            raise CheckpointError(f"checkpoint has no optimizer state for phase {phase!r}")
        opt.load_state_dict(_unflatten_optimizer(phase, tensors, optim_meta))
    scaler_meta = json.loads(metadata.get("scalers", "{}"))
    for phase, scaler in scalers.items():
        if phase in scaler_meta:
            scaler.load_state_dict(scaler_meta[phase])
    if "rng/torch" in tensors:
        torch.set_rng_state(tensors["rng/torch"])
    cuda_states = [tensors[k] for k in sorted(tensors) if k.startswith("rng/cuda/")]
    if cuda_states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda_states[: torch.cuda.device_count()])
    return int(metadata["step"])
