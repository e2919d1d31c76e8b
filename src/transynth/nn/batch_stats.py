"""Batch norm that normalises with the statistics of the batch at hand, at inference too."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from torch import nn


@contextlib.contextmanager
def batch_statistics(*modules: nn.Module, enabled: bool = True) -> Iterator[None]:
    """Within the block, every batch-norm layer of `modules` normalises with the current batch's
    mean and variance (as in training) instead of its running averages, and leaves those
    averages untouched; dropout and every other layer keep their mode. Restored on exit.

    This is how the pix2pix-derived TensorFlow codes (DualGAN's, and DiscoGAN's PyTorch code,
    which never calls ``eval()``) translate test images. With `enabled` False it does nothing.
    """
    layers = [
        m
        for module in (modules if enabled else ())
        for m in module.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm)
    ]
    saved = [(m, m.training, m.track_running_stats) for m in layers]
    try:
        for m in layers:
            # training mode with no tracked statistics: torch normalises by the batch's own
            # moments and passes no running buffers, so nothing is updated
            m.train(True)
            m.track_running_stats = False
        yield
    finally:
        for m, training, track in saved:
            m.train(training)
            m.track_running_stats = track
