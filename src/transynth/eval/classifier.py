"""Evaluator networks: small CNN classifiers trained on the real images of an embedded domain.

They judge generators the way the FCN-score judges pix2pix and a digit classifier judges
CycleGAN-style digit translation: an image translated into domain B should be recognised by a
classifier trained on real B images as the class of its source. Their penultimate features also
serve as the feature space of FID/KID (see :mod:`transynth.eval.metrics`).

Protocol of :func:`get_evaluator`: train split of the domain (via ``transynth.data.load_domain``),
converted to the requested channel count (gray -> RGB by repetition, RGB -> gray by ITU-R 601
luminance) and size; light random affine augmentation (rotation +-10 deg, scale 0.9-1.1, shift
+-2 px at 32 px, scaled with the size); AdamW with a one-cycle schedule; a fixed, data-size
dependent number of steps; all randomness seeded. The accuracy on the full real test split is
measured once and stored with the weights in ``cache_dir()/evaluators/``.
"""

from __future__ import annotations

import json
import math
import os
import pathlib
import time
import warnings
from typing import Any

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from transynth.fileio import atomic_path
from transynth.nn.inference import run_batched

__all__ = [
    "EMBEDDED_DOMAINS",
    "EVALUATOR_VERSION",
    "MIN_EVALUATOR_ACCURACY",
    "TRAINING",
    "DomainClassifier",
    "cache_dir",
    "clear_evaluator_memo",
    "evaluator_paths",
    "get_evaluator",
    "load_domain",
    "resize_images",
    "to_channels",
]

#: Embedded domains with class labels, for which evaluators can be trained (``fashion-mnist``
#: only where installed; its evaluator stays below MIN_EVALUATOR_ACCURACY: small CNNs reach about
#: 92-94% on it, so get_evaluator warns).
EMBEDDED_DOMAINS = ("mnist", "uci-digits", "printed-digits", "mnist-m", "fashion-mnist")
#: Bump when the architecture or training protocol changes (part of the cache file name).
EVALUATOR_VERSION = 1
#: Below this real-test accuracy an evaluator is considered too weak to judge generators.
MIN_EVALUATOR_ACCURACY = 0.97

#: Training protocol (module-level so tests can shrink it; part of the cached protocol).
TRAINING: dict[str, float] = {
    "batch_size": 128,
    "epochs": 3,
    "min_steps": 600,
    "max_steps": 1500,
    "lr": 3e-3,
}

_MEMO: dict[tuple[str, str], DomainClassifier] = {}


def load_domain(name: str, split: str, image_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``transynth.data.load_domain``, looked up at call time (tests monkeypatch this name)."""
    from transynth import data

    return data.load_domain(name, split, image_size)


def cache_dir() -> pathlib.Path:
    """``transynth.data.cache_dir()``; same rule ($TRANSYNTH_CACHE or ~/.cache/transynth)."""
    try:
        from transynth.data import cache_dir as data_cache_dir
    except ImportError:
        env = os.environ.get("TRANSYNTH_CACHE")
        path = (
            pathlib.Path(env).expanduser() if env else pathlib.Path.home() / ".cache" / "transynth"
        )
        path.mkdir(parents=True, exist_ok=True)
        return path
    return data_cache_dir()


def to_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    """Images (N, C, H, W) converted to `channels`: gray -> RGB repeats, RGB -> gray luminance."""
    c = x.shape[1]
    if c == channels:
        return x
    if c == 1 and channels == 3:
        return x.expand(-1, 3, -1, -1).contiguous()
    if c == 3 and channels == 1:
        w = torch.tensor([0.299, 0.587, 0.114], dtype=x.dtype, device=x.device)
        return (x * w.view(1, 3, 1, 1)).sum(dim=1, keepdim=True)
    raise ValueError(f"cannot convert {c}-channel images to {channels} channels")


def resize_images(x: torch.Tensor, size: int) -> torch.Tensor:
    """Images resized to size x size (bilinear, antialiased when shrinking); no-op if equal."""
    if x.shape[-2:] == (size, size):
        return x
    return F.interpolate(x.float(), size=(size, size), mode="bilinear", antialias=True).clamp(-1, 1)


def _cbr(cin: int, cout: int, stride: int = 1) -> list[nn.Module]:
    return [
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    ]


class DomainClassifier(nn.Module):
    """Small CNN: strided conv-bn-relu blocks and global average pooling (any size >= 16 px).

    ``forward(x)`` returns logits; ``features(x)`` the penultimate (pooled) vector of
    :attr:`feature_dim` values. Input: images in [-1, 1] with :attr:`in_channels` channels.
    """

    def __init__(self, in_channels: int, num_classes: int, width: int = 32) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.width = width
        self.feature_dim = 4 * width
        #: The size the evaluator was trained at (set by get_evaluator); used by `prepare`.
        self.image_size: int | None = None
        #: Accuracy on the real test split (set by get_evaluator).
        self.test_accuracy: float = float("nan")
        self.domain: str = ""
        w = width
        self.body = nn.Sequential(
            *_cbr(in_channels, w, 2),
            *_cbr(w, 2 * w, 2),
            *_cbr(2 * w, 2 * w),
            *_cbr(2 * w, 4 * w, 2),
            *_cbr(4 * w, 4 * w),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.head = nn.Linear(4 * w, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate representation (N, feature_dim)."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Any [-1, 1] images converted to this evaluator's channels and training size."""
        x = to_channels(x.float(), self.in_channels)
        return resize_images(x, self.image_size) if self.image_size else x

    def _batched(self, x: torch.Tensor, fn: Any, dim: int, batch_size: int) -> torch.Tensor:
        device = next(self.parameters()).device
        return run_batched(
            lambda b: fn(self.prepare(b)), x, batch_size, module=self, device=device, empty=(dim,)
        )

    def logits(self, x: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
        """Logits of any images (prepared first), in eval mode without gradients, on the CPU."""
        return self._batched(x, self.forward, self.num_classes, batch_size)

    def embed(self, x: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
        """Penultimate features of any images (prepared first), eval mode, no grad, on the CPU."""
        return self._batched(x, self.features, self.feature_dim, batch_size)


def _random_affine(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random rotation (+-10 deg), scale (0.9-1.1) and shift (+-1/16 of the side) per image."""
    n = x.shape[0]

    def uniform(lo: float, hi: float) -> torch.Tensor:
        return torch.rand(n, generator=gen) * (hi - lo) + lo

    angle = uniform(-10.0, 10.0) * math.pi / 180.0
    scale = uniform(0.9, 1.1)
    tx, ty = uniform(-0.125, 0.125), uniform(-0.125, 0.125)  # normalized coords: 1/16 of side
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin, tx], dim=1), torch.stack([sin, cos, ty], dim=1)], dim=1
    ).to(x.device, x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _accuracy(model: DomainClassifier, x: torch.Tensor, y: torch.Tensor) -> float:
    preds = model.logits(x).argmax(dim=1)
    return float((preds == y.cpu()).double().mean().item())


def _train(
    model: DomainClassifier,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    seed: int,
) -> int:
    """Train in place following :data:`TRAINING`; returns the number of optimizer steps taken."""
    batch_size, lr = min(int(TRAINING["batch_size"]), len(x)), float(TRAINING["lr"])
    epochs, min_steps, max_steps = TRAINING["epochs"], TRAINING["min_steps"], TRAINING["max_steps"]
    device = next(model.parameters()).device
    steps_per_epoch = math.ceil(len(x) / batch_size)
    steps = int(min(max(epochs * steps_per_epoch, min_steps), max_steps))
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.2)
    model.train()
    order = torch.randperm(len(x), generator=gen)
    pos = 0
    for _ in range(steps):
        if pos + batch_size > len(order):
            order, pos = torch.randperm(len(x), generator=gen), 0
        idx = order[pos : pos + batch_size]
        pos += batch_size
        xb = _random_affine(x[idx], gen).to(device)
        loss = F.cross_entropy(model(xb), y[idx].to(device), label_smoothing=0.05)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    model.eval()
    return steps


def evaluator_paths(
    domain: str, image_size: int, channels: int
) -> tuple[pathlib.Path, pathlib.Path]:
    """(weights .safetensors, info .json) of an evaluator in ``cache_dir()/evaluators``."""
    stem = f"{domain}-{image_size}px-{channels}c-v{EVALUATOR_VERSION}"
    root = cache_dir() / "evaluators"
    return root / f"{stem}.safetensors", root / f"{stem}.json"


def _atomic_write(path: pathlib.Path, write: Any) -> None:
    with atomic_path(path) as tmp:
        write(str(tmp))


def _load_cached(
    weights: pathlib.Path, info_path: pathlib.Path, channels: int
) -> tuple[DomainClassifier, dict[str, Any]] | None:
    if not (weights.is_file() and info_path.is_file()):
        return None
    try:
        info = json.loads(info_path.read_text())
        model = DomainClassifier(channels, int(info["num_classes"]), int(info.get("width", 32)))
        model.load_state_dict(load_file(str(weights)))
    except Exception:  # noqa: BLE001 - any unreadable cache entry is rebuilt, never trusted
        return None  # unreadable or foreign cache entry: retrain and overwrite
    return model, info


def clear_evaluator_memo() -> None:
    """Forget evaluators held in this process (cache files stay)."""
    _MEMO.clear()


def get_evaluator(
    domain: str,
    image_size: int,
    channels: int,
    *,
    device: str | torch.device = "cpu",
    seed: int = 0,
) -> DomainClassifier:
    """The evaluator of an embedded `domain` at `image_size` px with `channels` input channels.

    Loaded from ``cache_dir()/evaluators/{domain}-{image_size}px-{channels}c-v1.safetensors``
    (+ ``.json`` holding ``test_accuracy`` and training details) if present, else trained on the
    real train split (see the module docstring), evaluated on the real test split, and cached
    atomically. Returned in eval mode on `device`, with ``test_accuracy``, ``image_size`` and
    ``domain`` set. Warns when the test accuracy is below :data:`MIN_EVALUATOR_ACCURACY`.
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    weights, info_path = evaluator_paths(domain, image_size, channels)
    key = (str(weights.resolve()), str(torch.device(device)))
    model = _MEMO.get(key)
    if model is None or not weights.is_file():
        cached = _load_cached(weights, info_path, channels)
        if cached is None:
            model, info = _build(domain, image_size, channels, device=device, seed=seed)
            state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
            _atomic_write(weights, lambda p: save_file(state, p))
            text = json.dumps(info, indent=2) + "\n"
            _atomic_write(info_path, lambda p: pathlib.Path(p).write_text(text))
        else:
            model, info = cached
        model.to(device).eval()
        model.image_size = image_size
        model.domain = domain
        model.test_accuracy = float(info["test_accuracy"])
        _MEMO[key] = model
    if model.test_accuracy < MIN_EVALUATOR_ACCURACY:
        warnings.warn(
            f"the {domain} evaluator ({image_size}px, {channels}c) reaches only "
            f"{model.test_accuracy:.1%} test accuracy (< {MIN_EVALUATOR_ACCURACY:.0%}): "
            "too weak to judge generators; treat its scores with caution",
            stacklevel=2,
        )
    return model


def _build(
    domain: str, image_size: int, channels: int, *, device: str | torch.device, seed: int
) -> tuple[DomainClassifier, dict[str, Any]]:
    x_train, y_train = load_domain(domain, "train", image_size)
    x_test, y_test = load_domain(domain, "test", image_size)
    x_train = resize_images(to_channels(x_train.float(), channels), image_size)
    x_test = resize_images(to_channels(x_test.float(), channels), image_size)
    y_train, y_test = y_train.long(), y_test.long()
    keep = y_train >= 0
    x_train, y_train = x_train[keep], y_train[keep]
    num_classes = int(max(int(y_train.max()), int(y_test.max())) + 1)
    start = time.perf_counter()
    # Callers often ask for an evaluator inside an evaluation (no_grad, maybe autocast): training
    # must not inherit either, or it fails (no graph) or caches weights another caller would not.
    dev_type = torch.device(device).type
    with (
        torch.random.fork_rng(devices=[]),
        torch.enable_grad(),
        torch.autocast(dev_type, enabled=False),
    ):
        torch.manual_seed(seed)
        model = DomainClassifier(channels, num_classes).to(device)
        steps = _train(model, x_train, y_train, seed=seed)
    seconds = time.perf_counter() - start
    model.image_size = image_size
    acc = _accuracy(model, x_test[y_test >= 0], y_test[y_test >= 0])
    info = {
        "domain": domain,
        "image_size": image_size,
        "channels": channels,
        "num_classes": num_classes,
        "width": model.width,
        "version": EVALUATOR_VERSION,
        "seed": seed,
        "test_accuracy": acc,
        "train_size": len(x_train),
        "test_size": int((y_test >= 0).sum()),
        "train_steps": steps,
        "training": dict(TRAINING),
        "train_seconds": round(seconds, 2),
    }
    return model, info
