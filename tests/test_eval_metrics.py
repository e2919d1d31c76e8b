"""Metrics against analytic values and independent computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
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


def _fid_numpy_eig(x: np.ndarray, y: np.ndarray) -> float:
    """Independent FID: trace of sqrt(S1 S2) via eigenvalues."""
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    eig = np.linalg.eigvals(s1 @ s2)
    tr = np.sqrt(eig.astype(complex)).real.sum()
    d = x.mean(0) - y.mean(0)
    return float(d @ d + np.trace(s1) + np.trace(s2) - 2 * tr)


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
    assert ours == pytest.approx(_fid_numpy_eig(x, y), rel=1e-6)
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
