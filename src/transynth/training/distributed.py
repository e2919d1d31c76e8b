"""Data-parallel training over torch.distributed, started by torchrun.

Each process computes the losses of its own slice of the global batch; after every backward pass
the gradients of that phase's networks are averaged across processes (one all-reduce of a
flattened buffer), so all replicas take identical optimizer steps. This is what
DistributedDataParallel does, done explicitly after backward rather than with DDP's hooks: a GAN
step calls each network several times before one backward and freezes some networks in some
phases, two things DDP's autograd hooks do not handle without extra care (StyleGAN2-ADA's
training loop makes the same choice). Parameters are broadcast from rank 0 at start.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_distributed(device_type: str) -> DistInfo:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1); a no-op otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")
    return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def broadcast_module(module: torch.nn.Module) -> None:
    """Make every replica start from rank 0's parameters and buffers."""
    for tensor in [*module.parameters(), *module.buffers()]:
        dist.broadcast(tensor.data, src=0)


def broadcast_buffers(module: torch.nn.Module) -> None:
    """Give every replica rank 0's buffers (batch-norm statistics), as DDP does by default: each
    process updates them from its own batch slice, so without this rank 1 would hold statistics
    that no checkpoint saves and a resumed run would not restore."""
    for tensor in module.buffers():
        dist.broadcast(tensor.data, src=0)


def average_gradients(params: list[torch.nn.Parameter], world_size: int) -> None:
    """Average the gradients of `params` over all processes in place."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat /= world_size
    offset = 0
    for g in grads:
        n = g.numel()
        g.copy_(flat[offset : offset + n].view_as(g))
        offset += n


def all_finite(value: torch.Tensor, info: DistInfo) -> bool:
    """True on every process only if the loss is finite on every process (so all stop together)."""
    ok = torch.tensor(float(torch.isfinite(value).all()), device=value.device)
    if info.enabled:
        dist.all_reduce(ok, op=dist.ReduceOp.MIN)
    return bool(ok.item() > 0)


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def cleanup(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


def gather_to_main(value: object, info: DistInfo) -> list[object] | None:
    """Every process's `value` on rank 0 (in rank order), None on the others."""
    if not info.enabled:
        return [value]
    gathered: list[object] | None = [None] * info.world_size if info.is_main else None
    dist.gather_object(value, gathered, dst=0)
    return gathered
