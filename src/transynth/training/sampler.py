"""Deterministic batches as a function of (seed, step): resume needs no sampler state."""

from __future__ import annotations

from collections.abc import Iterator

import torch

from transynth.data.types import SampleIndex


class StepBatchSampler:
    """Yields, for steps start, start+1, ..., the list of SampleIndex of this process's batch.

    Each index space of the dataset (one for paired data, one per domain for unpaired data) is
    walked through its own sequence of seeded permutations, epoch after epoch. The global sample
    number k = step * world * batch + rank * batch + j picks position k of that sequence, so every
    process sees a disjoint slice of the same global batch and a resumed run sees exactly the
    batches the uninterrupted run would have seen.
    """

    def __init__(
        self,
        index_sizes: tuple[int, ...],
        batch_size: int,
        *,
        seed: int = 0,
        start_step: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if not index_sizes or min(index_sizes) < 1:
            raise ValueError(f"cannot sample batches from an empty dataset (sizes {index_sizes})")
        self.index_sizes = index_sizes
        self.batch_size = batch_size
        self.seed = seed
        self.start_step = start_step
        self.rank = rank
        self.world_size = world_size
        self._cache: dict[tuple[int, int], torch.Tensor] = {}

    def _permutation(self, space: int, epoch: int) -> torch.Tensor:
        key = (space, epoch)
        if key not in self._cache:
            if len(self._cache) > 8:
                self._cache.clear()
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + space * 7919 + epoch)
            self._cache[key] = torch.randperm(self.index_sizes[space], generator=g)
        return self._cache[key]

    def indices_for(self, step: int) -> list[SampleIndex]:
        batch = []
        base = (step * self.world_size + self.rank) * self.batch_size
        for j in range(self.batch_size):
            k = base + j
            idx = tuple(
                int(self._permutation(s, k // n)[k % n]) for s, n in enumerate(self.index_sizes)
            )
            batch.append(SampleIndex(k, idx))
        return batch

    def __iter__(self) -> Iterator[list[SampleIndex]]:
        step = self.start_step
        while True:
            yield self.indices_for(step)
            step += 1
