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


# Tiny settings per method so every test runs in a fraction of a second.
TINY = {
    "pix2pix": {"model": {"ngf": 4, "ndf": 4, "num_downs": 4, "d_layers": 1}},
    "cyclegan": {"model": {"ngf": 4, "ndf": 4, "n_blocks": 1, "d_layers": 1, "pool_size": 4}},
    "dualgan": {"model": {"ngf": 4, "ndf": 4, "num_downs": 4, "d_layers": 1, "n_critic": 2}},
    # discogan: no GAN curriculum, so the 40-step learning test sees the reconstruction weight 0.5
    "discogan": {"model": {"ngf": 4, "ndf": 4, "curriculum_steps": 0}},
    "unit": {
        "model": {
            "ngf": 4,
            "ndf": 4,
            "n_down": 2,
            "n_res": 1,
            "shared_layers": 2,
            "norm": "batch",
            "d_layers": 2,
            "d_shared_layers": 1,
            "dropout": 0.2,
        }
    },
    # dtn: f_pretrain_steps 0 so that every step trains g (the learning test watches g/tid);
    # tests/test_dtn.py covers the f phase and its hand-over.
    "dtn": {"model": {"f_width": 4, "feature_dim": 8, "ngf": 4, "ndf": 4, "f_pretrain_steps": 0}},
    # infogan/acgan: more fakes than the 2 real images (batch norm over 2 samples is degenerate)
    # and a wider init, so that G and Q/D agree on the codes/classes within the 40-step test
    "infogan": {
        "model": {
            **{"ngf": 8, "ndf": 8, "g_fc": 32, "d_fc": 32, "q_fc": 16, "noise_dim": 8},
            **{"fake_batch": 64, "lr_g": 5e-3, "init_gain": 0.1},
        }
    },
    "acgan": {
        "model": {
            **{"ngf": 8, "ndf": 8, "g_fc": 32, "d_fc": 32, "noise_dim": 8},
            **{"fake_batch": 32, "dropout": 0.0, "init_gain": 0.1},
        }
    },
    # stargan: n_critic 1 so that phases(0) holds both phases (the paper's 5 is tested apart)
    "stargan": {"model": {"ngf": 4, "ndf": 4, "n_blocks": 1, "d_layers": 2, "n_critic": 1}},
    "cdrd": {
        "model": {"ngf": 4, "d_conv1": 4, "d_conv2": 8, "d_conv3": 16, "emb_dim": 16, "z_dim": 8}
    },
    "ecdrd": {
        "model": {"ngf": 4, "d_conv1": 4, "d_conv2": 8, "d_conv3": 16, "emb_dim": 16, "z_dim": 8}
    },
}


def tiny_overrides(method: str, model: dict | None = None, **train) -> dict:
    """Config overrides of `method` at the tiny test settings: `model` keys are merged over the
    tiny model settings, keyword arguments over the tiny train settings."""
    base = {k: dict(v) for k, v in TINY[method].items()}
    base["model"] = {**base.get("model", {}), **(model or {})}
    base["train"] = {
        "batch_size": 2,
        "progress": False,
        "tensorboard": False,
        "evaluate": False,
        "log_every": 1,
        "sample_every": 1000,
        "checkpoint_every": 1000,
        **train,
    }
    base["data"] = {"image_size": 16}
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
