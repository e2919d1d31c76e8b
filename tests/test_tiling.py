"""Tiled translation: coverage, exact blending, no seams, bounded tiles, real methods."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import task_for
from PIL import Image
from test_models import build

from transynth.inference import tile_starts, translate_tiled
from transynth.inference.tiling import blend_window, tiled_map


@pytest.mark.parametrize(
    "length,tile,overlap", [(100, 32, 8), (33, 32, 8), (32, 32, 0), (7, 32, 4)]
)
def test_tiles_cover_the_image_and_overlap_as_asked(length, tile, overlap):
    starts = tile_starts(length, tile, overlap)
    side = min(tile, length)
    covered = np.zeros(length, bool)
    for s in starts:
        assert 0 <= s and s + side <= length
        covered[s : s + side] = True
    assert covered.all()
    assert all(b - a <= tile - overlap for a, b in zip(starts, starts[1:], strict=False))


def test_windows_are_positive_and_ramp_only_towards_neighbours():
    w = blend_window(16, 4, ramp_start=False, ramp_end=True)
    assert (w > 0).all() and w[:12].eq(1).all() and (w[12:].diff() < 0).all()
    assert blend_window(16, 4, True, True)[0] < 0.2


def _smooth_image(h: int, w: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    a = 127 + 100 * np.sin(x / 23.0) * np.cos(y / 31.0)
    return np.repeat(a[:, :, None], 3, 2).round().astype(np.uint8)


def test_a_pointwise_map_is_reproduced_exactly():
    """Weights are normalised: a per-pixel function gives the whole-image result."""
    image = _smooth_image(70, 95)
    tiled = tiled_map(image, lambda x: torch.tanh(2 * x), tile=32, overlap=8)
    whole = tiled_map(image, lambda x: torch.tanh(2 * x), tile=512, overlap=0)
    assert tiled.shape == image.shape
    assert np.abs(tiled.astype(int) - whole.astype(int)).max() <= 1


def _instance_norm_net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 3, 3, padding=1), torch.nn.InstanceNorm2d(3), torch.nn.Tanh()
    )


def _seam_score(out: np.ndarray, boundaries: list[int]) -> float:
    """Largest mean jump between neighbouring columns at tile boundaries over the median jump."""
    jumps = np.abs(np.diff(out[:, :, 0].astype(float), axis=1)).mean(0)
    return float(jumps[boundaries].max() / np.median(jumps))


def test_blending_hides_the_seams_that_plain_tiles_show():
    """Per-tile statistics (instance norm) make plain tiles visible; the blend hides them."""
    net, image = _instance_norm_net(), _smooth_image(64, 200)

    def run(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return net(x)

    tile = 48
    plain = tiled_map(image, run, tile=tile, overlap=0)
    blended = tiled_map(image, run, tile=tile, overlap=16)
    plain_edges = [s - 1 for s in tile_starts(200, tile, 0)[1:]]
    blended_edges = [e for s in tile_starts(200, tile, 16)[1:] for e in (s - 1, s + 15)]
    assert _seam_score(plain, plain_edges) > 3
    assert _seam_score(blended, blended_edges) < 2


def test_the_network_only_sees_tiles():
    seen = []

    def run(x: torch.Tensor) -> torch.Tensor:
        seen.append(tuple(x.shape[-2:]))
        return x[:, :1]  # 3 -> 1 channel: the output takes the target's channels

    out = tiled_map(_smooth_image(90, 130), run, tile=40, overlap=10)
    assert out.shape == (90, 130, 1)
    assert set(seen) == {(40, 40)} and len(seen) == len(tile_starts(90, 40, 10)) * len(
        tile_starts(130, 40, 10)
    )


def test_bad_tiling_is_refused_with_the_accepted_range():
    with pytest.raises(ValueError, match="positive"):
        tiled_map(_smooth_image(8, 8), lambda x: x, tile=0, overlap=0)
    with pytest.raises(ValueError, match="between 0 and half the tile"):
        tiled_map(_smooth_image(8, 8), lambda x: x, tile=16, overlap=9)


@pytest.mark.parametrize("method", ["pix2pix", "cyclegan", "stargan"])
def test_real_methods_translate_in_tiles(method):
    """The output has the input's size; where one tile holds the image it is the whole-image
    translation."""
    model = build(method, task_for(method)).eval()
    direction = model.domains[1].name if method == "stargan" else "AtoB"
    image = Image.fromarray(_smooth_image(40, 52))
    tiled = translate_tiled(model, image, direction, tile=24, overlap=6)
    assert tiled.size == image.size
    one_tile = np.asarray(translate_tiled(model, image, direction, tile=64, overlap=0))
    whole = np.asarray(model.translate(image, direction=direction))
    assert np.array_equal(one_tile, whole)


def test_whole_image_statistics_make_tiles_agree_with_the_whole_image():
    """Instance norm over each tile shifts every tile's tone; with the whole image's
    statistics the tiled result is the whole-image one up to the tile borders' padding."""
    from transynth.inference.norm_stats import image_statistics, per_image_norms

    net, image = _instance_norm_net(), _smooth_image(64, 200)
    assert len(per_image_norms(net)) == 1

    def run(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return net(x)

    whole = tiled_map(image, run, tile=512, overlap=0).astype(int)
    per_tile = tiled_map(image, run, tile=48, overlap=16).astype(int)
    x = torch.from_numpy(image).permute(2, 0, 1).float().div(127.5).sub(1)[None]
    with image_statistics(net, run, x) as frozen:
        shared = tiled_map(image, frozen, tile=48, overlap=16).astype(int)
    assert np.abs(per_tile - whole).mean() > 5 * np.abs(shared - whole).mean()
    assert np.abs(shared - whole).mean() < 0.5
    assert not net[1]._forward_hooks  # the hooks are removed afterwards
