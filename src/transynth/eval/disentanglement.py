"""Disentanglement measures for generators driven by labels or codes.

- :func:`conditional_accuracy` (supervised factors: AC-GAN, StarGAN, CDRD): generate images for
  each requested class; how often an evaluator trained on real images recognises that class.
- :func:`categorical_code_accuracy` (unsupervised factors: InfoGAN, CDRD's target domain): the
  evaluator labels images generated for each value of a categorical code; accuracy after the
  best one-to-one matching of code values to classes (Hungarian), the protocol behind InfoGAN's
  "5% error on MNIST". The matching is returned too, so a user learns which code means what.
- :func:`traversal_grid`: images along one code with everything else fixed, one row per sample.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from transynth.eval.metrics import classification_accuracy

Generate = Callable[[torch.Tensor], torch.Tensor]  # labels or code values (N,) -> images


def _predict(
    evaluator: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor
) -> torch.Tensor:
    with torch.no_grad():
        return evaluator(images).argmax(1).cpu()


def conditional_accuracy(
    generate: Generate,
    evaluator: Callable[[torch.Tensor], torch.Tensor],
    num_classes: int,
    per_class: int = 100,
) -> float:
    """Share of images generated for class c that the evaluator labels c, over all classes."""
    labels = torch.arange(num_classes).repeat_interleave(per_class)
    with torch.no_grad():
        images = generate(labels)
    return classification_accuracy(_predict(evaluator, images), labels)


def categorical_code_accuracy(
    generate: Generate,
    evaluator: Callable[[torch.Tensor], torch.Tensor],
    num_values: int,
    num_classes: int,
    per_value: int = 100,
) -> tuple[float, dict[int, int]]:
    """Hungarian-matched accuracy of a categorical code used as a class, and the matching.

    Returns (accuracy, {code value: class}). Code values left unmatched (more values than
    classes) count as errors.
    """
    values = torch.arange(num_values).repeat_interleave(per_value)
    with torch.no_grad():
        pred = _predict(evaluator, generate(values)).numpy()
    table = np.zeros((num_values, num_classes), dtype=np.int64)
    np.add.at(table, (values.numpy(), pred), 1)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / len(values)), {
        int(r): int(c) for r, c in zip(rows, cols, strict=True)
    }


def traversal_grid(
    generate: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], values: torch.Tensor, rows: int
) -> tuple[torch.Tensor, int]:
    """A grid varying one code along each row (values) with the rest fixed per row.

    `generate(row_ids, values)` must return one image per (row id, value) pair; a row id stands
    for a fixed draw of the other codes and the noise (e.g. seeded by it). Returns the images
    (rows * len(values), C, H, W) and the row length, ready for ``save_grid``.
    """
    row_ids = torch.arange(rows).repeat_interleave(len(values))
    vals = values.repeat(rows)
    with torch.no_grad():
        return generate(row_ids, vals), len(values)
