"""Metrics against values computed independently of their implementation.

SSIM against scikit-image's ``structural_similarity`` (Wang et al.'s Gaussian-window SSIM),
Hungarian accuracy against a brute-force search over every matching, and the Inception feature
path's preprocessing (gray to RGB, bilinear resize to 299 px, no rescaling of [-1, 1] inputs,
the convention of pytorch-fid's ``2x - 1``) against scikit-image's resize.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from scipy.ndimage import correlate1d
from skimage.metrics import structural_similarity
from skimage.transform import resize

from transynth.eval import inception as inc
from transynth.eval.metrics import hungarian_accuracy, ssim


def _image_pairs(n: int, channels: int, size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Smooth images in [-1, 1] and noisy, shifted versions of them (SSIM well inside (0, 1))."""
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(n, channels, size // 4, size // 4, generator=g)
    a = torch.nn.functional.interpolate(base, size=(size, size), mode="bilinear") * 2 - 1
    b = (0.8 * a + 0.3 * torch.randn(a.shape, generator=g) + 0.1).clamp(-1, 1)
    return a, b


def _ssim_numpy(a: torch.Tensor, b: torch.Tensor, interior_only: bool) -> float:
    """Wang et al.'s SSIM written out in numpy: Gaussian window 11 px / sigma 1.5, data range 1,
    population (co)variances, averaged over pixels, channels and images; `interior_only` keeps
    the windows that lie inside the image (the reference code's and scikit-image's convention),
    else every pixel with the image mirrored at its border (torchmetrics' reflect padding)."""
    taps = np.exp(-(np.arange(-5, 6) ** 2) / (2 * 1.5**2))
    taps /= taps.sum()

    def blur(z):
        for axis in (-2, -1):
            z = correlate1d(z, taps, axis=axis, mode="mirror")
        return z

    x, y = ((a.double().numpy() + 1) / 2), ((b.double().numpy() + 1) / 2)
    mx, my = blur(x), blur(y)
    sxx, syy, sxy = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx**2 + my**2 + c1) * (sxx + syy + c2))
    if interior_only:
        s = s[..., 5:-5, 5:-5]
    return float(s.mean())


def _skimage_ssim(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(
        np.mean(
            [
                structural_similarity(
                    ((x + 1) / 2).permute(1, 2, 0).double().numpy(),
                    ((y + 1) / 2).permute(1, 2, 0).double().numpy(),
                    data_range=1.0,
                    gaussian_weights=True,
                    sigma=1.5,
                    use_sample_covariance=False,
                    channel_axis=2,
                )
                for x, y in zip(a, b, strict=True)
            ]
        )
    )


SSIM_CASES = [(size, channels) for size in (28, 32, 64) for channels in (1, 3)]


@pytest.mark.parametrize("size,channels", SSIM_CASES)
def test_ssim_matches_an_independent_implementation_checked_against_scikit_image(size, channels):
    """ssim() is Wang et al.'s SSIM with mirrored borders; the same computation restricted to
    interior windows is scikit-image's value to 1e-6, which validates the reference."""
    a, b = _image_pairs(3, channels, size, seed=size + channels)
    reference = _skimage_ssim(a, b)
    assert 0.1 < reference < 0.9  # a pair where SSIM discriminates
    assert _ssim_numpy(a, b, interior_only=True) == pytest.approx(reference, abs=1e-6)
    assert ssim(a, b) == pytest.approx(_ssim_numpy(a, b, interior_only=False), abs=1e-5)


# Measured: ssim() averages the SSIM map over every pixel, border windows of the mirrored image
# included (torchmetrics' convention), where scikit-image and the reference code average the
# interior windows only: 0.002-0.014 apart on these 28-64 px pairs (28 px: 36% of the windows
# are border windows). transynth reports torchmetrics' convention (its figures stay comparable
# with earlier runs and with torchmetrics users); this strict xfail keeps the difference visible
# and fails if the two ever agree.
@pytest.mark.xfail(strict=True, reason="ssim() includes mirrored border windows; skimage does not")
@pytest.mark.parametrize("size,channels", SSIM_CASES)
def test_ssim_matches_scikit_image(size, channels):
    a, b = _image_pairs(3, channels, size, seed=size + channels)
    assert ssim(a, b) == pytest.approx(_skimage_ssim(a, b), abs=1e-4)


def _brute_force_matching(pred: np.ndarray, labels: np.ndarray) -> float:
    """The best accuracy over every one-to-one assignment of classes to clusters."""
    keep = labels >= 0
    pred, labels = pred[keep], labels[keep]
    clusters, classes = np.unique(pred), np.unique(labels)
    best = 0
    slots = list(clusters) + [None] * len(classes)  # a class may stay unmatched
    for chosen in itertools.permutations(slots, len(classes)):
        hits = sum(
            int(np.sum((pred == k) & (labels == c)))
            for c, k in zip(classes, chosen, strict=True)
            if k is not None
        )
        best = max(best, hits)
    return best / len(labels)


@pytest.mark.parametrize("seed", range(4))
def test_hungarian_accuracy_matches_brute_force_with_more_clusters_and_unlabelled_items(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, size=60)
    # 6 clusters for 4 classes: a noisy relabelling with two split classes
    pred = np.where(rng.random(60) < 0.7, (labels * 5 + 1) % 7, rng.integers(0, 7, size=60))
    pred = np.where((labels == 2) & (rng.random(60) < 0.5), 6, pred)
    labels[rng.random(60) < 0.2] = -1
    assert len(np.unique(pred[labels >= 0])) > len(np.unique(labels[labels >= 0]))
    expected = _brute_force_matching(pred, labels)
    assert 0.3 < expected < 1.0
    assert hungarian_accuracy(pred, labels) == pytest.approx(expected, abs=1e-12)
    assert hungarian_accuracy(torch.as_tensor(pred), torch.as_tensor(labels)) == pytest.approx(
        expected, abs=1e-12
    )


class _Stop(Exception):
    pass


@pytest.mark.parametrize("channels,size", [(1, 28), (3, 32), (3, 64)])
def test_inception_input_is_the_bilinear_299_px_resize_of_the_unscaled_images(channels, size):
    """What the first convolution sees: the [-1, 1] images, gray ones repeated to RGB, resized
    to 299 x 299 with half-pixel bilinear interpolation (scikit-image order 1, edge mode)."""
    torch.manual_seed(0)
    net = inc.FIDInceptionV3().eval()
    seen = []

    def capture(module, inputs):
        seen.append(inputs[0].detach().clone())
        raise _Stop  # the rest of the network is not needed

    net.Conv2d_1a_3x3.register_forward_pre_hook(capture)
    images = torch.rand(2, channels, size, size) * 2 - 1
    with pytest.raises(_Stop):
        inc.inception_features(net, images)
    (got,) = seen
    assert got.shape == (2, 3, 299, 299)
    rgb = images.expand(-1, 3, -1, -1).numpy().astype(np.float64)
    expected = np.stack(
        [resize(img, (3, 299, 299), order=1, mode="edge", anti_aliasing=False) for img in rgb]
    )
    np.testing.assert_allclose(got.double().numpy(), expected, atol=1e-5)
    assert float(got.min()) < -0.9 and float(got.max()) > 0.9  # not rescaled to [0, 1]
