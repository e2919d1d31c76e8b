"""Normalisation layer choice by name."""

from __future__ import annotations

from torch import nn

NORMS = ("batch", "instance", "none")


def norm_layer(kind: str, channels: int) -> nn.Module:
    """A 2-D normalisation layer: batch (learned affine, running stats), instance (no affine,
    no running stats, as in the CycleGAN reference code) or none (identity)."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}; accepted: {', '.join(NORMS)}")


def uses_bias(kind: str) -> bool:
    """Convolutions followed by batch norm do not need a bias (the norm's shift replaces it)."""
    return kind != "batch"
