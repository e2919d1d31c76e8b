"""Metrics against analytic values and independent computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch
from torch import nn

from transynth.eval.metrics import (
    classification_accuracy,
    fid_from_features,
    hungarian_accuracy,
    kid_from_features,
    l1,
    psnr,
    ssim,
)


def _images(n: int = 4, c: int = 3, size: int = 32, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, c, size, size, generator=g) * 1.6 - 0.8  # stays in [-0.8, 0.8]


def test_l1_constant_offset() -> None:
    x = _images()
    assert l1(x, x) == 0.0
    assert l1(x, x + 0.1) == pytest.approx(0.1, abs=1e-6)


def test_psnr_constant_offset_is_analytic() -> None:
    x = _images()
    # an offset of 0.2 on [-1, 1] is 0.1 on [0, 1]: MSE 0.01 -> 20 dB
    assert psnr(x, x + 0.2) == pytest.approx(20.0, abs=1e-4)
    assert psnr(x, x + 0.02) == pytest.approx(40.0, abs=1e-3)
    assert psnr(x, x) == pytest.approx(100.0)  # capped, finite


def test_psnr_is_per_image_mean() -> None:
    x = torch.zeros(2, 1, 8, 8)
    y = x.clone()
    y[0] += 0.2  # 20 dB
    y[1] += 0.02  # 40 dB
    assert psnr(x, y) == pytest.approx(30.0, abs=1e-3)


@pytest.mark.parametrize("size", [28, 32, 64, 8])
def test_ssim_identity_and_ordering(size: int) -> None:
    x = _images(size=size, c=1)
    assert ssim(x, x) == pytest.approx(1.0, abs=1e-5)
    g = torch.Generator().manual_seed(1)
    slightly = (x + 0.05 * torch.randn(x.shape, generator=g)).clamp(-1, 1)
    very = (x + 0.5 * torch.randn(x.shape, generator=g)).clamp(-1, 1)
    assert 1.0 > ssim(x, slightly) > ssim(x, very)


def test_shape_mismatch_raises() -> None:
    with pytest.raises(ValueError):
        psnr(torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 8, 9))


def test_classification_accuracy() -> None:
    labels = torch.tensor([0, 1, 2, 2, -1])
    logits = torch.eye(3)[[0, 1, 1, 2, 0]] * 5.0
    assert classification_accuracy(logits, labels) == pytest.approx(0.75)
    assert classification_accuracy(torch.tensor([0, 1, 2, 2, 1]), labels) == 1.0
    assert math.isnan(classification_accuracy(torch.tensor([1]), torch.tensor([-1])))


def test_hungarian_accuracy_of_permutation_is_one() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, size=500)
    perm = rng.permutation(10)
    assert hungarian_accuracy(perm[labels], labels) == 1.0
    assert hungarian_accuracy(torch.as_tensor(perm[labels] + 7), torch.as_tensor(labels)) == 1.0
    # one cluster merged into another: exactly those items are lost
    pred = perm[labels].copy()
    pred[labels == 3] = perm[4]
    assert hungarian_accuracy(pred, labels) == pytest.approx(1.0 - np.mean(labels == 3))


def _fid_numpy_sqrtm(x: np.ndarray, y: np.ndarray) -> float:
    """Independent FID, the pytorch-fid way: scipy.linalg.sqrtm of S1 S2."""
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    covmean = np.real(scipy.linalg.sqrtm(s1 @ s2))
    d = x.mean(0) - y.mean(0)
    return float(d @ d + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def test_fid_zero_on_identical_and_grows_with_shift() -> None:
    rng = np.random.default_rng(0)
    f = rng.normal(size=(400, 8))
    assert fid_from_features(f, f) == pytest.approx(0.0, abs=1e-6)
    values = [fid_from_features(f, f + s) for s in (0.5, 1.0, 2.0)]
    # a pure mean shift of s in every dimension adds exactly D * s^2
    assert values == pytest.approx([8 * 0.25, 8 * 1.0, 8 * 4.0], rel=1e-6)


def test_fid_matches_independent_computations() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 6))
    y = rng.normal(size=(250, 6)) @ rng.normal(size=(6, 6)) * 0.5 + 0.3
    ours = fid_from_features(torch.as_tensor(x), torch.as_tensor(y))
    assert ours == pytest.approx(_fid_numpy_sqrtm(x, y), rel=1e-6)
    # torchmetrics' FID with an identity "feature extractor"
    from torchmetrics.image.fid import FrechetInceptionDistance

    class Identity(nn.Module):
        num_features = 6

        def forward(self, z: torch.Tensor) -> torch.Tensor:
            return z

    metric = FrechetInceptionDistance(feature=Identity())
    metric.update(torch.as_tensor(y, dtype=torch.float64), real=True)
    metric.update(torch.as_tensor(x, dtype=torch.float64), real=False)
    assert ours == pytest.approx(float(metric.compute()), rel=1e-4)


def test_fid_with_singular_covariances() -> None:
    """Fewer samples than dimensions: still ~0 for identical sets and D*s^2 for a mean shift."""
    rng = np.random.default_rng(4)
    f = rng.normal(size=(10, 32))
    assert fid_from_features(f, f) == pytest.approx(0.0, abs=1e-6)
    assert fid_from_features(f, f + 1.0) == pytest.approx(32.0, rel=1e-6)


def _kid_numpy_loops(x: np.ndarray, y: np.ndarray) -> float:
    """Independent unbiased MMD^2 with explicit sums over i != j."""
    d = x.shape[1]

    def k(a: np.ndarray, b: np.ndarray) -> float:
        return (a @ b / d + 1.0) ** 3

    m, n = len(x), len(y)
    sxx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    syy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    sxy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return sxx + syy - 2 * sxy


def test_kid_matches_independent_computation() -> None:
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(40, 5)), rng.normal(size=(30, 5)) + 0.5
    assert kid_from_features(x, y) == pytest.approx(_kid_numpy_loops(x, y), rel=1e-9)
    # torchmetrics' kernel (equal set sizes)
    from torchmetrics.image.kid import poly_mmd

    y2 = y[:30]
    x2 = x[:30]
    tm = float(poly_mmd(torch.as_tensor(x2), torch.as_tensor(y2)))
    assert kid_from_features(x2, y2) == pytest.approx(tm, rel=1e-9)


def test_kid_near_zero_on_same_distribution_and_grows_with_shift() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(1500, 16)), rng.normal(size=(1200, 16))
    same = kid_from_features(x, y, subset_size=500, num_subsets=20)
    shifted = kid_from_features(x, y + 1.0, subset_size=500, num_subsets=20)
    assert abs(same) < 0.01
    assert shifted > 0.1
    # subset sampling is seeded
    assert same == kid_from_features(x, y, subset_size=500, num_subsets=20)


# --- evaluate_translation (transynth.eval.translation) with fake models, tasks and evaluators ---

from types import SimpleNamespace  # noqa: E402

import transynth.eval.translation as translation  # noqa: E402
from transynth.data.types import DomainInfo, SplitDataset, TaskData  # noqa: E402
from transynth.eval.classifier import DomainClassifier, to_channels  # noqa: E402


def _bars(n: int, size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Class 0: a horizontal bar, class 1: a vertical bar, at random positions."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 2, (n,), generator=g)
    pos = torch.randint(4, 12, (n,), generator=g)
    x = torch.full((n, 1, 16, 16), -1.0)
    for i in range(n):
        p = int(pos[i])
        if labels[i] == 0:
            x[i, 0, p - 1 : p + 1, 2:-2] = 0.8
        else:
            x[i, 0, 2:-2, p - 1 : p + 1] = 0.8
    return x, labels


class OracleEvaluator(DomainClassifier):
    """Classifies bars by orientation exactly; features are the row and column profiles."""

    def __init__(self, channels: int) -> None:
        super().__init__(channels, 2, width=4)
        self.image_size = 16
        self.test_accuracy = 0.99

    def features(self, x: torch.Tensor) -> torch.Tensor:
        g = x.mean(dim=1)
        return torch.cat([g.mean(dim=2), g.mean(dim=1)], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = x.mean(dim=1)
        return torch.stack([g.mean(dim=2).var(dim=1), g.mean(dim=1).var(dim=1)], dim=1)


class Split(SplitDataset):
    def __init__(self, domains: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
        self.domains = domains
        self.index_sizes = tuple(len(x) for x, _ in domains)

    def domain_tensors(self, domain: int | str) -> tuple[torch.Tensor, torch.Tensor]:
        return self.domains[int(domain)]


class FakeModel:
    def __init__(self, fn, bidirectional: bool = False, paired: bool = False) -> None:
        self.fn = fn
        self.calls: list[tuple[str, int]] = []
        self.capabilities = SimpleNamespace(bidirectional=bidirectional, paired=paired)

    def translate(self, x: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
        self.calls.append((direction, len(x)))
        return self.fn(x, direction)


@pytest.fixture
def oracle(monkeypatch):
    calls: list[tuple[str, int, int]] = []

    def fake_get_evaluator(domain: str, image_size: int, channels: int, *, device="cpu"):
        calls.append((domain, image_size, channels))
        return OracleEvaluator(channels)

    monkeypatch.setattr(translation, "get_evaluator", fake_get_evaluator)
    return calls


def _paired_task(b_name: str = "mnist") -> TaskData:
    xb, y = _bars(40, 16, 0)
    split = Split([(-xb, y), (xb, y)])  # A: inverted digits, B: the digits
    domains = (DomainInfo("inverted", 1, 2), DomainInfo(b_name, 1, 2))
    return TaskData("inv", "paired", domains, 16, split, split)


def test_paired_perfect_and_identity_models(oracle) -> None:
    task = _paired_task()
    perfect = translation.evaluate_translation(FakeModel(lambda x, d: -x), task, batch_size=16)
    assert perfect["l1"] == 0.0
    assert perfect["psnr"] == pytest.approx(100.0)
    assert perfect["ssim"] == pytest.approx(1.0, abs=1e-5)
    assert perfect["fcn_accuracy"] == perfect["fcn_accuracy_real"] == 1.0
    assert perfect["evaluator/mnist_test_accuracy"] == 0.99
    assert perfect["num_images"] == 40.0
    assert oracle == [("mnist", 16, 1)]
    lazy = translation.evaluate_translation(FakeModel(lambda x, d: x), task, max_images=10)
    assert lazy["num_images"] == 10.0
    assert lazy["l1"] > 0.1 and lazy["psnr"] < perfect["psnr"] and lazy["ssim"] < 0.9
    # transposed output: the orientation (the "class") flips
    flipped = translation.evaluate_translation(FakeModel(lambda x, d: -x.transpose(2, 3)), task)
    assert flipped["fcn_accuracy"] == 0.0
    assert all(isinstance(v, float) for v in flipped.values())


def test_paired_evaluator_domain_mapping(oracle) -> None:
    task = _paired_task("mnist-edges")
    model = FakeModel(lambda x, d: -x)
    assert "fcn_accuracy" not in translation.evaluate_translation(model, task)
    mapped = translation.evaluate_translation(
        model, task, evaluator_domain={"mnist-edges": "mnist"}
    )
    assert mapped["fcn_accuracy"] == 1.0 and oracle == [("mnist", 16, 1)]


def _unpaired_task() -> TaskData:
    xa, ya = _bars(60, 16, 1)
    xb, yb = _bars(50, 16, 2)
    xb = to_channels(xb, 3) * torch.tensor([1.0, 0.5, 0.2]).view(1, 3, 1, 1)
    split = Split([(xa, ya), (xb, yb)])
    domains = (DomainInfo("mnist", 1, 2), DomainInfo("mnist-m", 3, 2))
    return TaskData("m2mm", "unpaired", domains, 16, split, split)


def _recolour(x: torch.Tensor, direction: str) -> torch.Tensor:
    if direction == "AtoB":
        return to_channels(x, 3) * torch.tensor([1.0, 0.5, 0.2]).view(1, 3, 1, 1)
    return to_channels(x, 1)


def test_unpaired_directions_and_baselines(oracle) -> None:
    task = _unpaired_task()
    one_way = FakeModel(_recolour)
    res = translation.evaluate_translation(one_way, task, max_images=32, batch_size=10)
    assert not any(k.startswith("BtoA/") for k in res)
    assert {d for d, _ in one_way.calls} == {"AtoB"} and sum(n for _, n in one_way.calls) == 32
    assert res["AtoB/translation_accuracy"] == res["AtoB/baseline_accuracy"] == 1.0
    assert res["AtoB/num_images"] == 32.0
    assert res["evaluator/mnist-m_test_accuracy"] == 0.99
    for key in ("fid", "kid", "fid_baseline", "kid_baseline"):
        assert np.isfinite(res[f"AtoB/{key}"])

    both = FakeModel(_recolour, bidirectional=True)
    res = translation.evaluate_translation(both, task)
    assert res["BtoA/translation_accuracy"] == 1.0
    assert sorted(oracle[-2:]) == [("mnist", 16, 1), ("mnist-m", 16, 3)]

    # a generator that swaps classes and shifts the image statistics scores worse than doing nothing
    def bad(x: torch.Tensor, d: str) -> torch.Tensor:
        return (_recolour(x, d).transpose(2, 3) + 0.5).clamp(-1, 1)

    worse = translation.evaluate_translation(FakeModel(bad), task)
    assert worse["AtoB/translation_accuracy"] == 0.0
    assert worse["AtoB/baseline_accuracy"] == 1.0
    assert worse["AtoB/fid"] > worse["AtoB/fid_baseline"]
    # ...yet it keeps the two classes apart: after relabelling they are all right
    assert worse["AtoB/translation_accuracy_relabelled"] == 1.0
    assert res["BtoA/translation_accuracy_relabelled"] == 1.0

    # a generator that draws one image for every input keeps no class, relabelled or not
    def blank(x: torch.Tensor, d: str) -> torch.Tensor:
        return torch.zeros_like(_recolour(x, d))

    lost = translation.evaluate_translation(FakeModel(blank), task)
    _, labels = task.test.domain_tensors(0)
    majority = float(torch.bincount(labels).max()) / len(labels)
    assert lost["AtoB/translation_accuracy_relabelled"] == pytest.approx(majority)
    assert majority < 0.7


def test_unpaired_without_evaluator_is_judged_by_the_task_itself(oracle) -> None:
    # no embedded evaluator: a domain classifier trained on the task's own images judges it
    # (tests/test_folder_metrics.py covers those metrics); no digit evaluator is asked for
    task = _unpaired_task()
    task.domains = (DomainInfo("horses", 1), DomainInfo("zebras", 3))
    res = translation.evaluate_translation(FakeModel(_recolour, bidirectional=True), task)
    assert {"AtoB/realism", "BtoA/realism", "domain_classifier/test_accuracy"} <= set(res)
    assert not any("translation_accuracy" in k for k in res)  # unlabelled domains
    assert oracle == []


def test_paired_mean_target_baseline_is_the_mean_training_image(oracle) -> None:
    """psnr_mean_target gives every input the mean of the TRAINING B images; a model returning
    exactly that image scores it, and the identity baseline is scored separately."""
    task = _paired_task()
    test_b, _ = task.test.domain_tensors(1)
    train_b = torch.full_like(test_b, 0.25)
    task.train = Split([task.test.domain_tensors(0), (train_b, task.test.domain_tensors(1)[1])])
    blind = translation.evaluate_translation(FakeModel(lambda x, d: torch.full_like(x, 0.25)), task)
    assert blind["psnr"] == pytest.approx(blind["psnr_mean_target"])
    assert blind["ssim"] == pytest.approx(blind["ssim_mean_target"])
    assert blind["l1_mean_target"] == pytest.approx(float((test_b - 0.25).abs().mean()), rel=1e-5)
    assert blind["psnr_mean_target"] != pytest.approx(blind["psnr_identity"])
