"""Named embedded tasks: unpaired and paired translation, and one classes task per domain."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from . import cache
from .artwork import ARTWORK, artwork_ready, build_artwork
from .datasets import TensorClassesDataset, TensorPairedDataset, TensorUnpairedDataset
from .domains import (
    DIGIT_CLASSES,
    DOMAINS,
    domain_arrays,
    domain_ready,
    domain_uint8,
    nhwc_to_tensor,
)
from .embedded import mnist, paired_tasks
from .imageio import resize_uint8
from .multidomain import MULTIDOMAIN_DESCRIPTIONS, build_multidomain, multidomain_ready
from .types import DomainInfo, TaskData


@dataclass(frozen=True)
class PairedSpec:
    """A paired task prepared into its own cache file."""

    version: int | str  # in the cache file name; derived data include their source version
    names: tuple[str, str]
    channels: tuple[int, int]
    build: Callable[[], dict[str, np.ndarray]]


UNPAIRED: dict[str, tuple[str, str]] = {
    "mnist2uci": ("mnist", "uci-digits"),
    "uci2mnist": ("uci-digits", "mnist"),
    "printed2mnist": ("printed-digits", "mnist"),
    "mnist2printed": ("mnist", "printed-digits"),
    "mnist2mnistm": ("mnist", "mnist-m"),
}

PAIRED: dict[str, PairedSpec] = {
    "edges2mnist": PairedSpec(
        f"{mnist.VERSION}.{paired_tasks.EDGES_VERSION}",
        ("edges", "mnist"),
        (1, 1),
        lambda: paired_tasks.build_edges2mnist(domain_arrays("mnist")),
    ),
    "sans2serif": PairedSpec(
        paired_tasks.SANS_VERSION,
        ("sans", "serif"),
        (1, 3),
        paired_tasks.build_sans2serif,
    ),
}

DESCRIPTIONS = {
    "mnist2uci": "unpaired MNIST -> UCI digits (both gray)",
    "uci2mnist": "unpaired UCI digits -> MNIST (both gray)",
    "printed2mnist": "unpaired printed digits (RGB, SVHN-like) -> MNIST (gray), as SVHN->MNIST",
    "mnist2printed": "unpaired MNIST (gray) -> printed digits (RGB, SVHN-like)",
    "mnist2mnistm": "unpaired MNIST (gray) -> MNIST-M (RGB); the two share digits and split",
    "edges2mnist": "paired: binary outline of an MNIST digit (A) -> the digit (B); 4,000/1,000",
    "sans2serif": "paired, 32x32: a digit in DejaVu Sans black on white (A) -> the same digit, "
    "pose and scale in DejaVu Serif Bold, dark blue on cream (B); 4,000/1,000",
    **MULTIDOMAIN_DESCRIPTIONS,
}


def task_names() -> list[str]:
    """All embedded task names: translation tasks, real-image tasks, per-domain classes tasks."""
    return [*UNPAIRED, *PAIRED, *MULTIDOMAIN_DESCRIPTIONS, *ARTWORK, *DOMAINS]


def paired_arrays(name: str) -> dict[str, np.ndarray]:
    """Prepared arrays of a paired task: a_/b_/y_ for train and test (NHWC uint8)."""
    spec = PAIRED[name]
    return cache.cached_arrays(f"task-{name}", spec.version, spec.build)


def task_ready(name: str) -> bool:
    """Whether everything the task reads is prepared in the current cache dir."""
    if name in DOMAINS:
        return domain_ready(name)
    if name in UNPAIRED:
        return all(domain_ready(d) for d in UNPAIRED[name])
    if name in MULTIDOMAIN_DESCRIPTIONS:
        return multidomain_ready(name)
    if name in ARTWORK:
        return artwork_ready(name)
    spec = PAIRED[name]
    return cache.is_cached(f"task-{name}", spec.version)


def _digits(name: str, channels: int) -> DomainInfo:
    classes = DOMAINS[name].classes if name in DOMAINS else DIGIT_CLASSES
    return DomainInfo(name, channels, len(classes), classes)


def build_embedded(name: str, image_size: int, channels: int | None = None) -> TaskData:
    """TaskData of an embedded task (images resized to image_size and kept in memory; a
    real-image task is a cached folder, read lazily)."""
    if name in ARTWORK:
        return build_artwork(name, image_size, channels=channels)
    if name in MULTIDOMAIN_DESCRIPTIONS:
        return build_multidomain(name, image_size, channels)
    if name in DOMAINS:
        c = channels or DOMAINS[name].channels
        splits = {
            s: TensorClassesDataset(*domain_uint8(name, s, image_size, c), name)
            for s in ("train", "test")
        }
        desc = f"classes task on the embedded domain {name}: {DOMAINS[name].description}"
        return TaskData(
            name, "classes", (_digits(name, c),), image_size, splits["train"], splits["test"], desc
        )
    if name in UNPAIRED:
        da, db = UNPAIRED[name]
        ca, cb = channels or DOMAINS[da].channels, channels or DOMAINS[db].channels
        splits = {
            s: TensorUnpairedDataset(
                *domain_uint8(da, s, image_size, ca), *domain_uint8(db, s, image_size, cb), (da, db)
            )
            for s in ("train", "test")
        }
        return TaskData(
            name,
            "unpaired",
            (_digits(da, ca), _digits(db, cb)),
            image_size,
            splits["train"],
            splits["test"],
            DESCRIPTIONS[name],
        )
    if name in PAIRED:
        spec = PAIRED[name]
        arr = paired_arrays(name)
        ca, cb = channels or spec.channels[0], channels or spec.channels[1]
        splits = {}
        for s in ("train", "test"):
            a = resize_uint8(nhwc_to_tensor(arr[f"a_{s}"]), image_size, ca)
            b = resize_uint8(nhwc_to_tensor(arr[f"b_{s}"]), image_size, cb)
            y = torch.from_numpy(arr[f"y_{s}"].astype(np.int64))
            splits[s] = TensorPairedDataset(a, b, y, spec.names)
        domains = (_digits(spec.names[0], ca), _digits(spec.names[1], cb))
        return TaskData(
            name, "paired", domains, image_size, splits["train"], splits["test"], DESCRIPTIONS[name]
        )
    raise ValueError(f"unknown embedded task {name!r}; known: {', '.join(task_names())}")
