"""Running a network over many images in batches, the one loop inference and evaluation share."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence

import torch
from torch import nn


@torch.no_grad()
def run_batched(
    fn: Callable[..., torch.Tensor],
    inputs: torch.Tensor | Sequence[torch.Tensor],
    batch_size: int = 256,
    *,
    module: nn.Module | None = None,
    device: torch.device | None = None,
    empty: tuple[int, ...] | None = None,
) -> torch.Tensor:
    """``fn(*batch)`` over `inputs` in batches of `batch_size`, as one float32 CPU tensor.

    Args:
        fn: maps one batch of each input tensor to an output tensor.
        inputs: one tensor, or several of the same length sliced together.
        module: put in eval mode for the loop (so batch norm and dropout do not depend on the
            batching) and given its mode back afterwards.
        device: each batch is moved there first.
        empty: the shape of one output row; without inputs the result is then an empty
            (0, *empty) tensor (else ``torch.cat`` of nothing raises).
    """
    tensors = (inputs,) if isinstance(inputs, torch.Tensor) else tuple(inputs)
    n = len(tensors[0])
    was_training = module.training if module is not None else False
    if module is not None:
        module.eval()
    try:
        out = []
        for i in range(0, n, batch_size):
            batch = (t[i : i + batch_size] for t in tensors)
            if device is not None:
                batch = (t.to(device) for t in batch)
            out.append(fn(*batch).float().cpu())
    finally:
        if module is not None:
            module.train(was_training)
    if not out and empty is not None:
        return torch.empty(0, *empty)
    return torch.cat(out)


@contextlib.contextmanager
def evaluating(module: nn.Module) -> Iterator[None]:
    """`module` in eval mode without gradients for the block; its mode is given back after."""
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        module.train(was_training)
