"""Image and representation metrics as pure functions.

Conventions: images are float tensors (N, C, H, W) in [-1, 1] (the toolkit's convention); each
metric documents the range it works in. Per-image metrics (L1, PSNR, SSIM) are averaged over the
batch, so a weighted mean of batch results (weights = batch sizes) equals the metric on the union.
Feature-space metrics (FID, KID) take (N, D) feature matrices from any extractor; the toolkit uses
the penultimate layer of its domain evaluators (see :mod:`transynth.eval.classifier`), so values
are comparable between runs that share an evaluator, not with Inception-based published numbers
(for those, see :mod:`transynth.eval.inception`).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import torch
from scipy.optimize import linear_sum_assignment
from torchmetrics.functional.image import structural_similarity_index_measure

__all__ = [
    "classification_accuracy",
    "fid_from_features",
    "hungarian_accuracy",
    "kid_from_features",
    "l1",
    "psnr",
    "ssim",
    "to_unit_range",
]

#: PSNR is capped at this value (dB) for (near-)identical images, so averages stay finite.
PSNR_MAX_DB = 100.0


def to_unit_range(x: torch.Tensor) -> torch.Tensor:
    """Map images from [-1, 1] to [0, 1] (clamped), in float32."""
    return ((x.float() + 1.0) / 2.0).clamp(0.0, 1.0)


def _check_pair(a: torch.Tensor, b: torch.Tensor) -> None:
    if a.shape != b.shape:
        raise ValueError(f"shape mismatch: {tuple(a.shape)} vs {tuple(b.shape)}")
    if a.ndim != 4:
        raise ValueError(f"expected (N, C, H, W) images, got shape {tuple(a.shape)}")


def l1(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean absolute error between two image batches, on the [-1, 1] scale the models train on.

    Protocol: mean over all pixels and channels of each image, then over images.
    """
    _check_pair(a, b)
    return float((a.float() - b.float()).abs().mean().item())


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB, per image then averaged over the batch.

    Protocol: both batches are mapped from [-1, 1] to [0, 1] (clamped), data_range = 1, so
    ``PSNR = -10 log10(MSE)`` with the MSE over one image's pixels and channels. Identical images
    give :data:`PSNR_MAX_DB` instead of infinity.
    """
    _check_pair(a, b)
    x, y = to_unit_range(a).double(), to_unit_range(b).double()
    mse = (x - y).pow(2).flatten(1).mean(dim=1)
    floor = 10.0 ** (-PSNR_MAX_DB / 10.0)
    values = -10.0 * torch.log10(mse.clamp_min(floor))
    return float(values.mean().item())


def _ssim_window(height: int, width: int, kernel_size: int = 11) -> tuple[int, float]:
    """Gaussian window for SSIM: 11 px, sigma 1.5, shrunk (odd, sigma scaled) for tiny images."""
    size = min(kernel_size, height, width)
    if size % 2 == 0:
        size -= 1
    size = max(size, 3)
    return size, 1.5 * size / kernel_size


def ssim(a: torch.Tensor, b: torch.Tensor) -> float:
    """Structural similarity (Wang et al. 2004), averaged over images.

    Protocol: torchmetrics' ``structural_similarity_index_measure`` on images mapped to [0, 1]
    (data_range 1, k1 0.01, k2 0.03), Gaussian window of 11 px with sigma 1.5. For 28-64 px images
    the standard window is used unchanged; for images smaller than 11 px it is shrunk to the
    largest odd size that fits, with sigma scaled by the same factor. Colour images: SSIM is
    computed per channel and averaged (torchmetrics' convention). The map is averaged over every
    pixel, the mirrored border windows included; scikit-image and Wang et al.'s code average the
    interior windows only, 0.002-0.014 higher or lower on 28-64 px images
    (tests/test_metric_references.py).
    """
    _check_pair(a, b)
    size, sigma = _ssim_window(a.shape[-2], a.shape[-1])
    value = structural_similarity_index_measure(
        to_unit_range(a),
        to_unit_range(b),
        gaussian_kernel=True,
        sigma=sigma,
        kernel_size=size,
        data_range=1.0,
    )
    return float(value.item())


def classification_accuracy(logits_or_preds: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of correctly classified items.

    ``logits_or_preds`` is either (N, K) logits/scores (argmax is taken) or (N,) integer
    predictions. Items whose label is negative (-1 = unlabelled) are ignored; NaN if none remain.
    """
    preds = logits_or_preds.argmax(dim=1) if logits_or_preds.ndim == 2 else logits_or_preds
    preds, labels = preds.reshape(-1).long().cpu(), labels.reshape(-1).long().cpu()
    if preds.shape != labels.shape:
        raise ValueError(f"{preds.numel()} predictions for {labels.numel()} labels")
    valid = labels >= 0
    if not bool(valid.any()):
        return float("nan")
    return float((preds[valid] == labels[valid]).double().mean().item())


def hungarian_accuracy(pred: torch.Tensor | np.ndarray, labels: torch.Tensor | np.ndarray) -> float:
    """Clustering accuracy under the best one-to-one matching of predicted ids to labels.

    Protocol: build the contingency table of (predicted id, label) and solve the assignment
    problem with ``scipy.optimize.linear_sum_assignment`` maximising matched counts; accuracy is
    matched items / all items. Works when the number of clusters differs from the number of
    classes (unmatched clusters count as errors). Negative labels are ignored.
    """
    p = np.asarray(pred.cpu() if isinstance(pred, torch.Tensor) else pred).reshape(-1)
    y = np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels).reshape(-1)
    if p.shape != y.shape:
        raise ValueError(f"{p.size} predictions for {y.size} labels")
    keep = y >= 0
    p, y = p[keep], y[keep]
    if y.size == 0:
        return float("nan")
    _, p_idx = np.unique(p, return_inverse=True)
    _, y_idx = np.unique(y, return_inverse=True)
    table = np.zeros((p_idx.max() + 1, y_idx.max() + 1), dtype=np.int64)
    np.add.at(table, (p_idx, y_idx), 1)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / y.size)


def _as_float64(f: torch.Tensor | np.ndarray) -> np.ndarray:
    arr = f.detach().cpu().double().numpy() if isinstance(f, torch.Tensor) else np.asarray(f)
    arr = arr.astype(np.float64, copy=False)
    if arr.ndim != 2:
        raise ValueError(f"expected (N, D) features, got shape {arr.shape}")
    return arr


def fid_from_features(f1: torch.Tensor | np.ndarray, f2: torch.Tensor | np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (the FID formula).

    ``||mu1 - mu2||^2 + Tr(S1) + Tr(S2) - 2 Tr((S1 S2)^{1/2})`` with unbiased covariances (N-1),
    in float64. The trace of the matrix square root is computed in the symmetric form
    ``Tr((S1^{1/2} S2 S1^{1/2})^{1/2})`` (same eigenvalues as S1 S2) from ``scipy.linalg.eigh``
    with eigenvalues clamped at 0, which stays exact when the covariances are singular (fewer
    samples than dimensions), where ``scipy.linalg.sqrtm(S1 @ S2)`` becomes inaccurate. Clamped at
    0. Needs >= 2 samples per set; small sample sizes bias FID upwards, so compare FIDs computed
    on equal sample sizes.
    """
    x, y = _as_float64(f1), _as_float64(f2)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"feature sizes differ: {x.shape[1]} vs {y.shape[1]}")
    if len(x) < 2 or len(y) < 2:
        raise ValueError("FID needs at least 2 samples in each set")
    mu1, mu2 = x.mean(axis=0), y.mean(axis=0)
    s1 = np.atleast_2d(np.cov(x, rowvar=False))
    s2 = np.atleast_2d(np.cov(y, rowvar=False))
    w, v = scipy.linalg.eigh(s1)
    root1 = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    inner = root1 @ s2 @ root1
    eig = scipy.linalg.eigvalsh((inner + inner.T) / 2.0)
    tr_covmean = np.sqrt(np.clip(eig, 0.0, None)).sum()
    diff = mu1 - mu2
    value = diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_covmean
    return float(max(value, 0.0))


def _poly_kernel(x: np.ndarray, y: np.ndarray, degree: int, coef: float) -> np.ndarray:
    return (x @ y.T / x.shape[1] + coef) ** degree


def _mmd2_unbiased(x: np.ndarray, y: np.ndarray, degree: int, coef: float) -> float:
    m, n = len(x), len(y)
    kxx, kyy, kxy = (
        _poly_kernel(x, x, degree, coef),
        _poly_kernel(y, y, degree, coef),
        _poly_kernel(x, y, degree, coef),
    )
    sxx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    syy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(sxx + syy - 2.0 * kxy.mean())


def kid_from_features(
    f1: torch.Tensor | np.ndarray,
    f2: torch.Tensor | np.ndarray,
    *,
    subset_size: int = 1000,
    num_subsets: int = 100,
    degree: int = 3,
    coef: float = 1.0,
    seed: int = 0,
) -> float:
    """Kernel distance (KID): unbiased MMD^2 with the polynomial kernel ``(x.y / D + 1)^3``.

    Protocol (Binkowski et al. 2018): if both sets have at most ``subset_size`` samples the
    unbiased estimate on the full sets is returned (exact, deterministic); otherwise the mean over
    ``num_subsets`` random subsets of ``min(subset_size, N1, N2)`` samples drawn without
    replacement from each set with a generator seeded by ``seed``. Unbiased, so it can be
    slightly negative for identical distributions. Needs >= 2 samples per set.
    """
    x, y = _as_float64(f1), _as_float64(f2)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"feature sizes differ: {x.shape[1]} vs {y.shape[1]}")
    if len(x) < 2 or len(y) < 2:
        raise ValueError("KID needs at least 2 samples in each set")
    if len(x) <= subset_size and len(y) <= subset_size:
        return _mmd2_unbiased(x, y, degree, coef)
    size = min(subset_size, len(x), len(y))
    rng = np.random.default_rng(seed)
    values = [
        _mmd2_unbiased(
            x[rng.choice(len(x), size, replace=False)],
            y[rng.choice(len(y), size, replace=False)],
            degree,
            coef,
        )
        for _ in range(num_subsets)
    ]
    return float(np.mean(values))
