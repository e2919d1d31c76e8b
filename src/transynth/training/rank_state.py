"""What differs between the processes of a torchrun run, saved so that resuming is exact.

Weights, optimizer moments and buffers are the same on every process (gradients are averaged,
parameters and buffers broadcast from rank 0); each process's random stream (dropout, noise,
image-pool draws) and its image pools are its own. Rank 0 gathers them into the checkpoint
under ``rank/<r>/...``; a run resumed by as many processes gives each one its own back, so it
ends with the weights of an uninterrupted run, bit for bit. Resumed by a different number of
processes, each process starts a fresh stream from (seed, rank, step) instead.
"""

from __future__ import annotations

import torch

from transynth.models.base import Method
from transynth.training.distributed import DistInfo, gather_to_main

PREFIX = "rank/"


def _own_state(model: Method, device: torch.device) -> dict[str, torch.Tensor]:
    state = {"rng/torch": torch.get_rng_state()}
    if device.type == "cuda":
        state["rng/cuda"] = torch.cuda.get_rng_state(device)
    for key, value in model.extra_state().items():
        state[f"extra/{key}"] = value.detach().cpu().contiguous()
    return state


def rank_states(model: Method, info: DistInfo, device: torch.device) -> dict[str, torch.Tensor]:
    """Checkpoint tensors of every process's own state (on rank 0; {} elsewhere or alone)."""
    if not info.enabled:
        return {}
    gathered = gather_to_main(_own_state(model, device), info)
    if gathered is None:
        return {}
    return {
        f"{PREFIX}{rank}/{key}": value
        for rank, state in enumerate(gathered)
        for key, value in state.items()
    }


def restore_rank_state(
    model: Method,
    tensors: dict[str, torch.Tensor],
    meta: dict[str, str],
    info: DistInfo,
    device: torch.device,
) -> bool:
    """Give this process its own saved state back; False when the checkpoint has none for a
    run of this many processes."""
    if meta.get("world_size") != str(info.world_size):
        return False
    mine = f"{PREFIX}{info.rank}/"
    own = {k[len(mine) :]: v for k, v in tensors.items() if k.startswith(mine)}
    if "rng/torch" not in own:
        return False
    torch.set_rng_state(own["rng/torch"])
    if "rng/cuda" in own and device.type == "cuda":
        torch.cuda.set_rng_state(own["rng/cuda"], device)
    extra = {k[len("extra/") :]: v for k, v in own.items() if k.startswith("extra/")}
    if extra:
        model.load_extra_state(extra)
    return True
