"""Judges trained on a task's own training images, for domains that have no embedded evaluator
(any user folder): a domain classifier (which domain an image looks like) and, where the target
domain's training images carry class labels, a class classifier.

Protocol (:func:`task_judge`): the training images of the chosen domains (test transform of the
split: a plain resize), at most ``TRAINING["max_per_domain"]`` per domain (an evenly spaced,
fixed subset), resized to ``min(image size, 64)`` px; the evaluators' small CNN
(:class:`~transynth.eval.classifier.DomainClassifier`, width ``TRAINING["width"]``) trained with
AdamW and a one-cycle schedule for ``TRAINING["steps"]`` steps on class-balanced batches, each
image randomly flipped left-right and jittered by the digit evaluators' random affine (rotation
+-10 deg, scale 0.9-1.1, shift 1/16 of the side). No colour jitter: colour is often what tells two
domains apart. All randomness seeded. Its accuracy on the test split's images of the same domains
is measured once (NaN without test images).

Feature space of FID/KID (:meth:`TaskJudge.features`): for each of the CNN's five conv blocks,
the spatial mean and standard deviation of every channel of its activations, concatenated
(2 x (w + 2w + 2w + 4w + 4w) values), each standardised by its mean and spread over the training
images. The means carry what the domain looks like; the standard deviations of the early,
high-resolution blocks carry local contrast and edges, so a blurry translation sits far from
sharp real images even when its colours and layout are right (a pooled last layer alone would
not see it).

Cache: ``cache_dir()/evaluators/folder-{purpose}-{fingerprint}.safetensors`` (+ ``.json``). The
fingerprint hashes the protocol, the image size and channels, and for each domain of the train
and test splits its sorted file list with sizes and modification times (folder data) or its
image and label bytes (in-memory data), so evaluating the same folder again reuses the judge
and changing one file retrains it.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import warnings
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from transynth.eval import classifier as C
from transynth.nn.inference import run_batched

__all__ = [
    "FOLDER_JUDGE_VERSION",
    "MIN_DOMAIN_ACCURACY",
    "TRAINING",
    "TaskJudge",
    "task_fingerprint",
    "task_judge",
    "trainings",
]

#: Bump when the protocol changes (part of the fingerprint).
FOLDER_JUDGE_VERSION = 1
#: Below this held-out accuracy a domain classifier is flagged weak (its realism is unreliable).
MIN_DOMAIN_ACCURACY = 0.9
#: Largest side the judges see (larger images are shrunk).
MAX_SIZE = 64
#: Training protocol (module-level so tests can change it; part of the fingerprint).
TRAINING: dict[str, float] = {
    "batch_size": 32,
    "steps": 200,
    "lr": 3e-3,
    "width": 16,
    "max_per_domain": 400,
}
_COUNT = {"trained": 0}


def trainings() -> int:
    """How many judges this process has trained (not loaded from the cache)."""
    return _COUNT["trained"]


@dataclass
class TaskJudge:
    """A trained judge: logits over its classes and standardised statistics features."""

    net: C.DomainClassifier
    feature_mean: torch.Tensor
    feature_std: torch.Tensor
    test_accuracy: float
    classes: tuple[str, ...]

    def logits(self, x: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        return self.net.logits(x, batch_size)

    def features(self, x: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """Per-block channel means and standard deviations, standardised (module docstring)."""
        return (_stats(self.net, x, batch_size) - self.feature_mean) / self.feature_std


def _block_stats(net: C.DomainClassifier, x: torch.Tensor) -> torch.Tensor:
    out, h = [], x
    for layer in net.body:
        h = layer(h)
        if isinstance(layer, torch.nn.ReLU):
            out += [h.mean(dim=(2, 3)), h.std(dim=(2, 3))]
    return torch.cat(out, dim=1)


def _stats(net: C.DomainClassifier, x: torch.Tensor, batch_size: int) -> torch.Tensor:
    device = next(net.parameters()).device
    dim = 2 * 13 * net.width
    return run_batched(
        lambda b: _block_stats(net, net.prepare(b)),
        x,
        batch_size,
        module=net,
        device=device,
        empty=(dim,),
    )


def _split_part(h: Any, split: Any, domain: int, labels: bool) -> None:
    listing = getattr(split, "file_paths", None)
    paths = listing(domain) if listing is not None else None
    if paths is not None:
        for p in sorted(paths):
            st = os.stat(p)
            h.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        lab = getattr(split, "labels", None)
        if labels and isinstance(lab, tuple) and domain < len(lab):
            h.update(lab[domain].numpy().tobytes())
        return
    x, y = split.domain_tensors(domain)
    h.update(x.float().contiguous().numpy().tobytes())
    if labels:
        h.update(y.long().numpy().tobytes())


def task_fingerprint(task: Any, domains: tuple[int, ...], purpose: str) -> str:
    """A hash of what a judge of `domains` of `task` is trained and tested on (docstring)."""
    h = hashlib.sha256()
    meta = [purpose, FOLDER_JUDGE_VERSION, task.image_size, task.channels, sorted(TRAINING.items())]
    h.update(json.dumps([meta, list(domains)], default=str).encode())
    for split in (task.train, task.test):
        for d in domains:
            _split_part(h, split, d, labels=purpose == "classes")
    return h.hexdigest()[:20]


def _subset(x: torch.Tensor, y: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    if len(x) <= n:
        return x, y
    keep = torch.linspace(0, len(x) - 1, n).round().long()
    return x[keep], y[keep]


def _train(net: C.DomainClassifier, x: torch.Tensor, y: torch.Tensor, seed: int) -> None:
    """Class-balanced batches, flips and affine jitter; AdamW with a one-cycle schedule."""
    steps, lr = int(TRAINING["steps"]), float(TRAINING["lr"])
    batch = int(TRAINING["batch_size"])
    gen = torch.Generator().manual_seed(seed)
    groups = [torch.nonzero(y == k).flatten() for k in torch.unique(y).tolist()]
    per = max(1, batch // len(groups))
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.2)
    net.train()
    for _ in range(steps):
        idx = torch.cat([g[torch.randint(0, len(g), (per,), generator=gen)] for g in groups])
        xb = x[idx]
        flip = torch.rand(len(xb), generator=gen) < 0.5
        xb = torch.where(flip.view(-1, 1, 1, 1), xb.flip(-1), xb)
        xb = C._random_affine(xb, gen)
        loss = F.cross_entropy(net(xb), y[idx], label_smoothing=0.05)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    net.eval()


def _images(
    split: Any, domains: tuple[int, ...], by_label: bool, n: int, channels: int
) -> tuple[torch.Tensor, torch.Tensor]:
    xs, ys = [], []
    for k, d in enumerate(domains):
        x, y = split.domain_tensors(d)
        x = C.to_channels(x.float(), channels)
        if by_label:
            keep = y >= 0
            x, y = x[keep], y[keep].long()
        else:
            y = torch.full((len(x),), k, dtype=torch.int64)
        x, y = _subset(x.float(), y, n)
        xs.append(x)
        ys.append(y)
    return torch.cat(xs), torch.cat(ys)


def task_judge(
    task: Any,
    domains: tuple[int, ...],
    purpose: str = "domains",
    *,
    classes: tuple[str, ...] = (),
    seed: int = 0,
) -> TaskJudge:
    """A judge of `task` trained on its training images (module docstring), cached.

    purpose "domains": classes are `domains` (index k = ``domains[k]``); "classes": the class
    labels of the training images of ``domains`` (one domain: the target), with `classes` naming
    them. Warns when a domain classifier's held-out accuracy is below
    :data:`MIN_DOMAIN_ACCURACY`.
    """
    if purpose not in ("domains", "classes"):
        raise ValueError(f"purpose must be 'domains' or 'classes', got {purpose!r}")
    channels = max(task.domains[d].channels for d in domains)  # gray is repeated to RGB
    size = min(task.image_size, MAX_SIZE)
    n_out = len(domains) if purpose == "domains" else len(classes)
    stem = f"folder-{purpose}-{task_fingerprint(task, domains, purpose)}"
    root = C.cache_dir() / "evaluators"
    weights, info_path = root / f"{stem}.safetensors", root / f"{stem}.json"
    judge = _load(weights, info_path, channels, n_out, size)
    if judge is None:
        judge = _build(task, domains, purpose, channels, n_out, size, seed)
        tensors = {
            f"net.{k}": v.detach().cpu().contiguous() for k, v in judge.net.state_dict().items()
        }
        tensors |= {"feature_mean": judge.feature_mean, "feature_std": judge.feature_std}
        C._atomic_write(weights, lambda p: save_file(tensors, p))
        text = json.dumps({"test_accuracy": judge.test_accuracy, "purpose": purpose}) + "\n"
        C._atomic_write(info_path, lambda p: pathlib.Path(p).write_text(text))
    judge.classes = (
        tuple(classes) if purpose == "classes" else tuple(task.domains[d].name for d in domains)
    )
    if purpose == "domains" and not judge.test_accuracy >= MIN_DOMAIN_ACCURACY:
        reach = (
            f"reaches only {judge.test_accuracy:.1%} held-out accuracy"
            if judge.test_accuracy == judge.test_accuracy
            else "has no held-out test images to be checked on"
        )
        warnings.warn(
            f"the domain classifier of task {task.name} {reach} (needs >= "
            f"{MIN_DOMAIN_ACCURACY:.0%}): its realism scores are unreliable "
            "(domain_classifier/weak = 1)",
            stacklevel=2,
        )
    return judge


def _load(
    weights: pathlib.Path, info_path: pathlib.Path, channels: int, n_out: int, size: int
) -> TaskJudge | None:
    if not (weights.is_file() and info_path.is_file()):
        return None
    try:
        tensors = load_file(str(weights))
        info = json.loads(info_path.read_text())
        net = C.DomainClassifier(channels, n_out, int(TRAINING["width"]))
        net.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("net.")})
    except Exception:  # noqa: BLE001 - an unreadable cache entry is rebuilt, never trusted
        return None
    net.image_size = size
    net.eval()
    mean, std = tensors["feature_mean"], tensors["feature_std"]
    return TaskJudge(net, mean, std, float(info["test_accuracy"]), ())


def _build(
    task: Any, domains: tuple[int, ...], purpose: str, channels: int, n_out: int, size: int,
    seed: int,
) -> TaskJudge:  # fmt: skip
    by_label = purpose == "classes"
    n = int(TRAINING["max_per_domain"])
    x, y = _images(task.train, domains, by_label, n, channels)
    if len(torch.unique(y)) < 2:
        raise LookupError(f"task {task.name}: fewer than two classes to train a {purpose} judge")
    x = C.resize_images(x, size)
    with torch.random.fork_rng(devices=[]), torch.enable_grad():
        torch.manual_seed(seed)
        net = C.DomainClassifier(channels, n_out, int(TRAINING["width"]))
        _train(net, x, y, seed)
    _COUNT["trained"] += 1
    net.image_size = size
    with torch.no_grad():
        f = _stats(net, x, 256)
    mean, std = f.mean(0), f.std(0).clamp_min(1e-6)
    xt, yt = _images(task.test, domains, by_label, 10**9, channels)
    acc = float((net.logits(xt).argmax(1) == yt).float().mean()) if len(xt) else float("nan")
    return TaskJudge(net, mean, std, acc, ())
