"""Known-answer classifiers of the toy tasks of conftest.make_task (no training needed).

A toy image shows its class c = 2 * row + column as a square in one quadrant: bright on a dark
background in domain A (and the single-domain kinds), dark on a bright one in domain B (B is
-A). The quadrant's mean brightness therefore names the class exactly.
"""

from __future__ import annotations

import torch

NUM_CLASSES = 4


def quadrant_means(x: torch.Tensor) -> torch.Tensor:
    """(N, 4) mean of each quadrant over channels, in class order (row-major)."""
    n, _, h, w = x.shape
    q = x.float().mean(1).reshape(n, 2, h // 2, 2, w // 2).mean((2, 4))
    return q.reshape(n, 4)


def quadrant_logits(x: torch.Tensor, domain: int) -> torch.Tensor:
    """Logits (N, 4) of the oracle of `domain` (0: brightest quadrant, 1: darkest)."""
    means = quadrant_means(x)
    return 10 * (means if domain == 0 else -means)


def constant_logits(n: int, label: int, num_classes: int = NUM_CLASSES) -> torch.Tensor:
    """Logits (n, num_classes) that always answer `label`."""
    out = torch.zeros(n, num_classes)
    out[:, label] = 1.0
    return out
