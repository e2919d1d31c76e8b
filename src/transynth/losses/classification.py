"""Classification terms on partly labelled batches."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def labelled_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy in float32 over the items with a label (>= 0; -1 marks an unlabelled item);
    0, still attached to the graph, when there are none."""
    keep = labels >= 0
    if not bool(keep.any()):
        return logits.float().sum() * 0.0
    return F.cross_entropy(logits.float()[keep], labels[keep])
