"""Shared fixtures: tiny in-memory tasks that need no dataset preparation."""

from __future__ import annotations

import pytest
import torch

from transynth.data.types import DomainInfo, SampleIndex, SplitDataset, TaskData


class TensorSplit(SplitDataset):
    """Paired or unpaired items from in-memory tensors."""

    def __init__(self, a, b, labels_a, labels_b, paired: bool) -> None:
        self.a, self.b, self.la, self.lb, self.paired = a, b, labels_a, labels_b, paired
        self.index_sizes = (len(a),) if paired else (len(a), len(b))

    def __getitem__(self, index: SampleIndex):
        i = index.indices[0]
        if self.paired:
            return {"A": self.a[i], "B": self.b[i], "label": self.la[i]}
        j = index.indices[1]
        return {"A": self.a[i], "B": self.b[j], "label_A": self.la[i], "label_B": self.lb[j]}

    def domain_tensors(self, domain):
        return (self.a, self.la) if domain in (0, "A") else (self.b, self.lb)


def _blobs(n: int, channels: int, size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Bright squares at a class-dependent position on a dark background (learnable, cheap)."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 4, (n,), generator=g)
    x = -torch.ones(n, channels, size, size)
    half = size // 2
    for k, c in enumerate(labels.tolist()):
        r, q = divmod(c, 2)
        x[k, :, r * half + 2 : r * half + half - 2, q * half + 2 : q * half + half - 2] = 0.8
    x += 0.05 * torch.randn(x.shape, generator=g)
    return x.clamp(-1, 1), labels


class ImagesSplit(SplitDataset):
    """Single-stream items for the kinds classes, domains and attributes."""

    def __init__(self, kind, images, labels, domains, attrs, num_domains) -> None:
        self.kind, self.x, self.y, self.d, self.attrs = kind, images, labels, domains, attrs
        self.num_domains = num_domains
        self.index_sizes = (len(images),)

    def __getitem__(self, index: SampleIndex):
        i = index.indices[0]
        if self.kind == "classes":
            return {"image": self.x[i], "label": self.y[i]}
        if self.kind == "domains":
            return {"image": self.x[i], "domain": self.d[i], "label": self.y[i]}
        return {"image": self.x[i], "attrs": self.attrs[i]}

    def domain_tensors(self, domain):
        if self.kind != "domains":
            return self.x, self.y
        keep = self.d == int(domain)
        return self.x[keep], self.y[keep]


def _styled(x: torch.Tensor, style: int) -> torch.Tensor:
    """Toy domain/attribute styles: 1 inverts, 2 dims (applied as bits)."""
    if style & 1:
        x = -x
    if style & 2:
        x = 0.5 * x
    return x


def _images_task(kind: str, size: int, n: int, channels: int) -> TaskData:
    splits = {}
    for split, count, seed in (("train", n, 0), ("test", 12, 2)):
        x, y = _blobs(count, channels, size, seed)
        styles = torch.arange(count) % 3  # domains 0, 1, 2 / attribute bits
        x = torch.stack([_styled(img, int(s)) for img, s in zip(x, styles, strict=True)])
        attrs = torch.stack([(styles & 1) > 0, (styles & 2) > 0], 1).float()
        splits[split] = ImagesSplit(kind, x, y, styles, attrs, 3)
    if kind == "domains":
        domains = tuple(DomainInfo(f"toy{k}", channels, 4) for k in range(3))
    else:
        domains = (DomainInfo("toy", channels, 4),)
    return TaskData(
        name=f"toy-{kind}",
        kind=kind,
        domains=domains,
        image_size=size,
        train=splits["train"],
        test=splits["test"],
        attribute_names=("inverted", "dim") if kind == "attributes" else (),
    )


def make_task(kind: str, size: int = 16, n: int = 24, channels=(1, 1)) -> TaskData:
    if kind in ("classes", "domains", "attributes"):
        return _images_task(kind, size, n, channels[0])
    a, la = _blobs(n, channels[0], size, 0)
    if kind == "paired":
        b = (
            -a
            if channels[1] == channels[0]
            else -a.mean(1, keepdim=True).expand(-1, channels[1], -1, -1)
        ).clone()
        lb = la
    else:
        b, lb = _blobs(n + 4, channels[1], size, 1)
        b = -b
    ta, tla = _blobs(8, channels[0], size, 2)
    if kind == "paired":
        tb, tlb = -ta, tla
    else:  # the target test images with their own labels (evaluations score them)
        tb, tlb = _blobs(8, channels[1], size, 3)
        tb = -tb
    domains = (DomainInfo("toyA", channels[0], 4), DomainInfo("toyB", channels[1], 4))
    paired = kind == "paired"
    return TaskData(
        name=f"toy-{kind}",
        kind=kind,
        domains=domains,
        image_size=size,
        train=TensorSplit(a, b, la, lb, paired),
        test=TensorSplit(ta, tb, tla, tlb, paired),
    )


@pytest.fixture
def paired_task() -> TaskData:
    return make_task("paired")


@pytest.fixture
def unpaired_task() -> TaskData:
    return make_task("unpaired")


def tiny_settings(method: str) -> dict:
    """The sections of `method`'s tiny preset (configs/<method>/tiny.yaml) as overrides."""
    from transynth.config import preset_path, read_yaml

    layer = read_yaml(preset_path(method, "tiny"))
    return {k: dict(v or {}) for k, v in layer.items() if k != "extends"}


def tiny_overrides(method: str, model: dict | None = None, **train) -> dict:
    """Config overrides of `method` at the tiny test settings (its ``tiny`` preset): `model`
    keys are merged over the tiny model settings, keyword arguments over the tiny train
    settings."""
    base = tiny_settings(method)
    base["model"] = {**base.get("model", {}), **(model or {})}
    base["train"] = {**base.get("train", {}), **train}
    return base


def task_for(method: str) -> TaskData:
    from transynth.registry import get_model_class

    return make_task(get_model_class(method).capabilities.data_kinds[0])


def tiny_config(method: str, model: dict | None = None, **train):
    """The resolved config of `method` at the tiny test settings (see `tiny_overrides`)."""
    from transynth.config import resolve_config

    return resolve_config(method, overrides=tiny_overrides(method, model, **train))


def tiny_trainer(
    method: str, out, task: TaskData | None = None, model: dict | None = None, **train
):
    """A Trainer of `method` at the tiny test settings (see `tiny_overrides`)."""
    from transynth.training import Trainer

    return Trainer(tiny_config(method, model, **train), out, task=task or task_for(method))


def fit_until_killed(trainer, monkeypatch, completed_steps: int) -> None:
    """Run `trainer.fit()` as a process killed in the first phase after `completed_steps`
    steps (a KeyboardInterrupt raised from inside the method's step)."""
    original, calls = trainer.model.step, {"n": 0}
    limit = completed_steps * len(trainer.model.phases(0))

    def killed(phase, batch):
        calls["n"] += 1
        if calls["n"] > limit:
            raise KeyboardInterrupt
        return original(phase, batch)

    monkeypatch.setattr(trainer.model, "step", killed)
    with pytest.raises(KeyboardInterrupt):
        trainer.fit()


def objective_history(trainer, steps: int) -> list[float]:
    """The sum of the model's monitored losses at each of `steps` steps on one fixed batch."""
    batch = trainer._to_device(next(iter(trainer._loader())))
    history = []
    for _ in range(steps):
        record = {}
        for phase in trainer.model.phases(trainer.step):
            record.update(trainer._run_phase(phase, batch))
        trainer.step += 1
        history.append(sum(float(record[k]) for k in trainer.model.monitored_losses))
    return history


def assert_gradients_close(ref: dict, got: dict) -> None:
    """Two {parameter name: gradient} maps agree to 1e-3 of each gradient's norm, with an
    absolute floor of 1e-5 of all gradients' norm (biases before a norm layer have a true
    gradient of about 0, which rounding alone moves)."""
    assert ref.keys() == got.keys()
    scale = torch.cat([g.flatten() for g in ref.values()]).norm()
    for n in ref:
        assert (ref[n] - got[n]).norm() <= 1e-3 * ref[n].norm() + 1e-5 * scale, n


def pixel_images(classes: torch.Tensor, size: int = 16) -> torch.Tensor:
    """Gray images (N, 1, size, size) showing class c as the one bright pixel at column c of
    the top row: what a fake generator draws for :class:`PixelReader` to read back."""
    images = -torch.ones(len(classes), 1, size, size)
    images[torch.arange(len(classes)), 0, 0, classes] = 1.0
    return images


class PixelReader:
    """A stand-in domain evaluator of 4 classes that reads the class of :func:`pixel_images`
    off the top row (logits: its first 4 pixels); its features are pixels plus a little noise
    (FID/KID need features that are not all equal)."""

    domain, num_classes, test_accuracy = "toy", 4, 1.0

    def logits(self, x, batch_size=512):
        return x[:, 0, 0, :4]

    def embed(self, x, batch_size=512):
        return x.flatten(1)[:, :8] + 0.01 * torch.randn(len(x), 8)


def use_pixel_reader(monkeypatch) -> None:
    """Make every generator evaluation judge its domain with a :class:`PixelReader`."""
    import transynth.eval.generation as generation

    monkeypatch.setattr(generation, "domain_evaluator", lambda *a, **k: PixelReader())


def replace_evaluation(fn, monkeypatch=None) -> None:
    """Make every caller of ``transynth.eval.evaluate`` (the trainer, the CLI, ...) call
    ``fn(model, task, **options)`` instead: for tests whose real evaluators would take minutes to
    train. With `monkeypatch` the change is undone after the test; without (a worker process),
    it lasts."""
    import sys

    from transynth.eval import protocols

    original = protocols.evaluate
    for name, module in list(sys.modules.items()):
        if name.startswith("transynth") and getattr(module, "evaluate", None) is original:
            if monkeypatch is None:
                module.evaluate = fn
            else:
                monkeypatch.setattr(module, "evaluate", fn)
