"""Helpers shared by the embedded domains."""

from __future__ import annotations

import numpy as np


def stratified_split(
    labels: np.ndarray, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded per-class split: (train_indices, test_indices), each in a seeded shuffled order.

    Each class puts round(count * test_fraction) items in test (at least one when it has two or
    more), so every class appears in both splits. The order is shuffled (not grouped by class) so
    that the first items of a split, e.g. for sample grids, show a mix of classes.
    """
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        idx = idx[rng.permutation(len(idx))]
        n_test = int(round(len(idx) * test_fraction))
        if len(idx) >= 2:
            n_test = min(max(n_test, 1), len(idx) - 1)
        else:
            n_test = 0
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    train_idx, test_idx = np.concatenate(train), np.concatenate(test)
    return train_idx[rng.permutation(len(train_idx))], test_idx[rng.permutation(len(test_idx))]


def split_arrays(
    images: np.ndarray, labels: np.ndarray, test_fraction: float, seed: int
) -> dict[str, np.ndarray]:
    """{"x_train", "y_train", "x_test", "y_test"} from a stratified split (images NHWC uint8)."""
    tr, te = stratified_split(labels, test_fraction, seed)
    labels = labels.astype(np.int64)
    return {
        "x_train": images[tr],
        "y_train": labels[tr],
        "x_test": images[te],
        "y_test": labels[te],
    }
