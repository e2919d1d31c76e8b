"""Disentanglement measures for generators driven by labels or codes.

- :func:`conditional_accuracy` (supervised factors: AC-GAN, StarGAN, CDRD): generate images for
  each requested class; how often an evaluator trained on real images recognises that class.
- :func:`categorical_code_accuracy` (unsupervised factors: InfoGAN, CDRD's target domain): the
  evaluator labels images generated for each value of a categorical code; accuracy after the
  best one-to-one matching of code values to classes (Hungarian), the protocol behind InfoGAN's
  "5% error on MNIST". The matching is returned too, so a user learns which code means what.
- :func:`code_clustering`: a categorical code read back from REAL images (InfoGAN's Q): how
  evenly and how confidently it partitions them (label-free, usable to pick a run or a
  checkpoint without labels) and, given labels, its matched accuracy as a clustering.
- :func:`traversal_grid`: images along one code with everything else fixed, one row per sample.
"""

from __future__ import annotations

import math
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
    return matched_accuracy(values.numpy(), pred, num_values, num_classes)


def contingency(
    values: np.ndarray, labels: np.ndarray, num_values: int, num_classes: int
) -> np.ndarray:
    """Counts (num_values, num_classes): how often value v meets class c."""
    table = np.zeros((num_values, num_classes), dtype=np.int64)
    np.add.at(table, (values, labels), 1)
    return table


def matched_accuracy(
    values: np.ndarray, labels: np.ndarray, num_values: int, num_classes: int
) -> tuple[float, dict[int, int]]:
    """Accuracy of integer `values` as a labelling of `labels` after the best one-to-one matching
    of values to classes (Hungarian), and the matching {value: class}."""
    table = contingency(values, labels, num_values, num_classes)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / max(len(values), 1)), {
        int(r): int(c) for r, c in zip(rows, cols, strict=True)
    }


def code_clustering(
    probs: torch.Tensor, labels: torch.Tensor | None = None, num_classes: int = 0
) -> dict[str, float]:
    """How a categorical code read from real images, `probs` (N, K) = Q(c | x), partitions them.

    - ``balance`` = H(E_x[Q(c|x)]) / log K: 1 when every value takes the same share of the images.
      A code that lets one value cover two classes (and two values share a third) scores lower.
    - ``mutual_information`` = (H(E_x[Q(c|x)]) - E_x[H(Q(c|x))]) / log K: the normalised mutual
      information between an image and its code (1: every image is assigned one value with
      certainty and the values are used equally). Both use no label.
    - ``accuracy`` (with `labels`): the argmax value as a clustering of the labels, after the best
      one-to-one matching (:func:`matched_accuracy`).
    """
    p = probs.double().clamp_min(1e-12)
    k = p.shape[1]
    marginal = p.mean(0)
    h_marginal = float(-(marginal * marginal.log()).sum())
    h_conditional = float(-(p * p.log()).sum(1).mean())
    out = {
        "balance": h_marginal / math.log(k),
        "mutual_information": (h_marginal - h_conditional) / math.log(k),
    }
    if labels is not None:
        out["accuracy"], _ = matched_accuracy(
            probs.argmax(1).numpy(), labels.numpy(), k, max(num_classes, k)
        )
    return out


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
