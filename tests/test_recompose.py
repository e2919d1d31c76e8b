"""Photography recomposition (issue 9): matching, discovery, rendering, scores, CLI, edge cases."""

from __future__ import annotations

import argparse
import functools
import json

import numpy as np
import pytest
from PIL import Image

from transynth.recompose import SceneGraph, discover_objects, match_graphs, recompose
from transynth.recompose.cli import add_parser, figure_path, run
from transynth.recompose.fill import diffusion_fill
from transynth.recompose.graph import affinity_matrix
from transynth.recompose.graphcut import grid_min_cut
from transynth.recompose.matching import greedy_discretise, ipfp, spectral_matching
from transynth.recompose.score import layout_distance, rule_of_thirds

# ---------------------------------------------------------------- graph matching


def _random_graph(rng, n, equal_areas=False):
    c = rng.uniform(0.05, 0.95, (n, 2))
    a = np.full(n, 0.02) if equal_areas else rng.uniform(0.005, 0.1, n)
    return c, a


def _permuted(rng, c, a, noise=0.0, outliers=0):
    perm = rng.permutation(len(a))
    c2 = c[perm] + rng.normal(0, noise, c.shape)
    a2 = a[perm] * np.exp(rng.normal(0, noise, len(a)))
    if outliers:
        c2 = np.r_[c2, rng.uniform(0.05, 0.95, (outliers, 2))]
        a2 = np.r_[a2, rng.uniform(0.005, 0.1, outliers)]
    truth = {int(i): int(k) for k, i in enumerate(perm)}  # node i of g1 is node k of g2
    return c2, a2, truth


@pytest.mark.parametrize("method", ["spectral", "ipfp"])
def test_matcher_recovers_a_known_permutation(method):
    rng = np.random.default_rng(0)
    for _ in range(5):
        c, a = _random_graph(rng, 7)
        c2, a2, truth = _permuted(rng, c, a)
        m = match_graphs(SceneGraph.from_arrays(c, a), SceneGraph.from_arrays(c2, a2), method)
        assert m.as_dict() == truth


@pytest.mark.parametrize("method", ["spectral", "ipfp"])
def test_matcher_uses_pairwise_relations_when_nodes_look_alike(method):
    # equal areas, aspects, colours and saliency: the node terms cannot tell nodes apart and
    # positions carry no weight, so only the pairwise relations (edges) can recover the mapping
    rng = np.random.default_rng(1)
    for _ in range(5):
        c, a = _random_graph(rng, 6, equal_areas=True)
        c2, a2, truth = _permuted(rng, c, a)
        g1, g2 = SceneGraph.from_arrays(c, a), SceneGraph.from_arrays(c2, a2)
        unary = np.diag(affinity_matrix(g1, g2, position_weight=0.0))
        assert np.allclose(unary, unary[0])  # uninformative nodes
        m = match_graphs(g1, g2, method, position_weight=0.0)
        assert m.as_dict() == truth


@pytest.mark.parametrize("method", ["spectral", "ipfp"])
def test_matcher_under_noise_and_outliers(method):
    rng = np.random.default_rng(2)
    exact, per_node, trials = 0, 0.0, 30
    for _ in range(trials):
        c, a = _random_graph(rng, 6)
        c2, a2, truth = _permuted(rng, c, a, noise=0.02, outliers=2)
        m = match_graphs(
            SceneGraph.from_arrays(c, a), SceneGraph.from_arrays(c2, a2), method, position_weight=0
        )
        got = m.as_dict()
        assert len(set(got.values())) == len(got)  # one-to-one
        exact += got == truth
        per_node += np.mean([got.get(i) == k for i, k in truth.items()])
    assert exact / trials >= 0.85
    assert per_node / trials >= 0.95


def test_different_numbers_of_nodes_give_partial_one_to_one_matchings():
    rng = np.random.default_rng(3)
    c, a = _random_graph(rng, 5)
    big, small = SceneGraph.from_arrays(c, a), SceneGraph.from_arrays(c[:3], a[:3])
    m = match_graphs(small, big)
    assert m.as_dict() == {0: 0, 1: 1, 2: 2}
    m = match_graphs(big, small)
    assert m.as_dict() == {0: 0, 1: 1, 2: 2}  # nodes 3 and 4 stay unmatched
    assert match_graphs(big, SceneGraph.from_arrays(np.zeros((0, 2)), [])).pairs == []
    with pytest.raises(ValueError, match="unknown matching method"):
        match_graphs(big, small, "hungarian")


def test_ipfp_never_scores_below_its_spectral_start():
    rng = np.random.default_rng(4)
    for _ in range(10):
        n1, n2 = 4, 5
        m = rng.random((n1 * n2, n1 * n2))
        m = (m + m.T) / 2
        b_s, x = spectral_matching(m, n1, n2)
        b_i = ipfp(m, n1, n2, x0=x)
        assert b_i.reshape(n1, n2).sum(0).max() <= 1 and b_i.reshape(n1, n2).sum(1).max() <= 1
        assert b_i @ m @ b_i >= b_s @ m @ b_s - 1e-9


def test_greedy_discretisation_respects_one_to_one():
    x = np.array([0.9, 0.8, 0.1, 0.7, 0.6, 0.5])  # 2 x 3 candidates
    b = greedy_discretise(x, 2, 3).reshape(2, 3)
    assert b.tolist() == [[1, 0, 0], [0, 1, 0]]


# ---------------------------------------------------------------- building blocks


def test_grid_min_cut_smooths_a_noisy_square():
    rng = np.random.default_rng(5)
    truth = np.zeros((40, 40), bool)
    truth[10:30, 12:32] = True
    evidence = np.where(truth, 1.0, -1.0) + rng.normal(0, 1.2, truth.shape)
    cost_fg, cost_bg = np.clip(-evidence, 0, None), np.clip(evidence, 0, None)
    weights = np.full((40, 39), 1.0), np.full((39, 40), 1.0)
    cut = grid_min_cut(cost_fg, cost_bg, *weights)
    assert (cut != truth).mean() < 0.5 * ((evidence > 0) != truth).mean()
    fixed = np.zeros_like(truth)
    fixed[:, :5] = True
    assert not grid_min_cut(cost_fg, cost_bg, *weights, fixed_bg=fixed)[:, :5].any()


def test_diffusion_fill_is_smooth_and_keeps_known_pixels():
    yy, xx = np.mgrid[0:50, 0:60] / 60.0
    image = np.stack([xx, yy, 0.5 + 0 * xx], -1)
    hole = np.zeros((50, 60), bool)
    hole[15:35, 20:45] = True
    filled = diffusion_fill(np.where(hole[..., None], 0.0, image), hole)
    assert np.array_equal(filled[~hole], image[~hole])
    assert np.abs(filled[hole] - image[hole]).max() < 0.06  # a linear ramp is harmonic


def test_scores():
    assert rule_of_thirds([(1 / 3, 2 / 3)], [1.0]) == pytest.approx(1.0)
    assert rule_of_thirds([(0.5, 0.5)], [1.0]) < rule_of_thirds([(0.4, 0.4)], [1.0]) < 1
    assert np.isnan(rule_of_thirds([], []))
    assert layout_distance([(0.2, 0.3)], [0.04], [(0.2, 0.3)], [0.04]) == 0
    assert layout_distance([(0.2, 0.3)], [0.04], [(0.5, 0.7)], [0.04]) == pytest.approx(0.5)


# ---------------------------------------------------------------- synthetic scene


def _scene(discs, size=(96, 128), seed=0):
    """A smooth background with coloured discs [(cx, cy, r, rgb)], coordinates normalised."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    rng = np.random.default_rng(seed)
    img = np.stack([0.55 + 0.1 * xx / w, 0.6 + 0.05 * yy / h, 0.5 + 0 * xx], -1)
    img += rng.normal(0, 0.01, img.shape)
    for cx, cy, r, rgb in discs:
        inside = (xx + 0.5 - cx * w) ** 2 + (yy + 0.5 - cy * h) ** 2 <= (r * min(h, w)) ** 2
        img[inside] = rgb
    return np.clip(img, 0, 1)


RED, BLUE = (0.85, 0.1, 0.1), (0.1, 0.15, 0.8)


def test_discovery_finds_the_objects_of_a_synthetic_scene():
    img = _scene([(0.3, 0.35, 0.18, RED), (0.7, 0.65, 0.13, BLUE)])
    d = discover_objects(img)
    assert len(d.objects) == 2
    found = sorted(d.objects, key=lambda o: o.centroid[0])
    for o, (cx, cy) in zip(found, [(0.3, 0.35), (0.7, 0.65)], strict=True):
        assert abs(o.centroid[0] - cx) < 0.02 and abs(o.centroid[1] - cy) < 0.02
    assert found[0].colour[0] > 0.7 and found[1].colour[2] > 0.7


def test_recomposition_moves_synthetic_objects_to_the_reference_positions():
    inp = _scene([(0.25, 0.35, 0.18, RED), (0.68, 0.62, 0.13, BLUE)])
    ref = _scene([(0.55, 0.4, 0.16, RED), (0.8, 0.7, 0.11, BLUE)], size=(120, 120), seed=1)
    res = recompose(inp, ref)
    assert res.image.size == (128, 96) and res.image.mode == "RGB"
    assert len(res.matching.pairs) == 2
    truth = {"red": (0.55, 0.4), "blue": (0.8, 0.7)}
    for p, mask in zip(res.placements, res.result_masks, strict=True):
        colour = res.input_objects[p.input_index].colour
        name = "red" if colour[0] > colour[2] else "blue"
        ys, xs = np.nonzero(mask)
        cx, cy = (xs.mean() + 0.5) / mask.shape[1], (ys.mean() + 0.5) / mask.shape[0]
        assert abs(cx - truth[name][0]) < 0.03 and abs(cy - truth[name][1]) < 0.03
    # the pixels moved too: rediscover the objects in the rendered result
    out = np.asarray(res.image, dtype=np.float64) / 255
    found = discover_objects(out).objects
    for name, rgb in (("red", RED), ("blue", BLUE)):
        o = min(found, key=lambda o: np.abs(np.subtract(o.colour, rgb)).sum())
        assert np.hypot(o.centroid[0] - truth[name][0], o.centroid[1] - truth[name][1]) < 0.04
    # where the red disc was, the background has been filled (no red left)
    h, w = out.shape[:2]
    old = out[int(0.35 * h) - 3 : int(0.35 * h) + 3, int(0.25 * w) - 3 : int(0.25 * w) + 3]
    assert old[..., 0].mean() < 0.75 and old[..., 1].mean() > 0.4
    s = res.scores
    assert s["layout_distance_after"] < 0.3 * s["layout_distance_before"]
    assert s["layout_gain"] > 0.7


# ---------------------------------------------------------------- real photos, CLI


@functools.cache
def _photo_cached(name, side):
    import skimage.data

    from transynth.recompose.images import downscale, to_float_rgb

    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_images

        img = load_sample_images().images[("china", "flower").index(name)]
    else:
        img = getattr(skimage.data, name)()
    return downscale(to_float_rgb(img)[0], side)


def _photo(name, side=96):
    return _photo_cached(name, side).copy()


def _cli(argv):
    parser = argparse.ArgumentParser(prog="transynth")
    add_parser(parser.add_subparsers(dest="command", required=True))
    return run(parser.parse_args(argv))


def test_end_to_end_on_bundled_photos_through_the_cli(tmp_path, capsys):
    inp, ref = tmp_path / "coffee.png", tmp_path / "camera.png"
    Image.fromarray((_photo("coffee") * 255).astype(np.uint8)).save(inp)
    Image.fromarray((_photo("camera")[..., 0] * 255).astype(np.uint8), "L").save(ref)
    out = tmp_path / "res" / "out.png"
    assert _cli(["recompose", str(inp), "--reference", str(ref), "--out", str(out)]) == 0
    assert "layout distance" in capsys.readouterr().out
    assert Image.open(out).size == Image.open(inp).size
    assert figure_path(out).is_file() and Image.open(figure_path(out)).size[0] > 600
    summary = json.loads(out.with_suffix(".json").read_text())
    assert summary["input_objects"] and summary["reference_objects"]
    assert summary["matching"]["pairs"] and summary["moves"]
    s = summary["scores"]
    assert s["layout_distance_after"] < s["layout_distance_before"]
    # the cup moved left, toward the photographer's place in the reference
    move = summary["moves"][0]
    assert move["to"][0] < move["from"][0] - 0.1
    assert not np.array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(inp)))


def test_grayscale_photo_stays_grayscale_and_china_follows_flower():
    res = recompose(_photo("camera")[..., 0], _photo("flower"), max_side=96)
    assert res.image.mode == "L" and res.image.size == (96, 96)
    res = recompose(_photo("china"), _photo("flower"), max_side=96, method="spectral")
    assert res.matching.pairs and res.scores["layout_gain"] > 0


def test_output_size_is_capped_with_a_note():
    res = recompose(_photo("coffee"), _photo("flower"), output_max_side=48)
    assert max(res.image.size) == 48 and res.image.size[0] > res.image.size[1]
    assert any("capped" in n for n in res.notes)
    assert all(m.shape == (res.image.size[1], 48) for m in res.input_masks + res.result_masks)


# ---------------------------------------------------------------- degenerate inputs


def test_constant_image_is_returned_unchanged_with_a_note():
    flat = np.full((40, 50, 3), 0.3)
    res = recompose(flat, _photo("chelsea"))
    assert np.array_equal(np.asarray(res.image), np.full((40, 50), round(0.3 * 255)))
    assert any("no salient object" in n for n in res.notes) and not res.placements
    assert np.isnan(res.scores["layout_gain"])


def test_identical_images_leave_the_input_unchanged():
    img = _scene([(0.3, 0.4, 0.15, RED)])
    res = recompose(img, img)
    assert any("already matches" in n for n in res.notes) and not res.changed
    assert np.abs(np.asarray(res.image) / 255 - img).max() <= 0.5 / 255 + 1e-9


@pytest.mark.parametrize("shape", [(8, 8, 3), (8, 8), (1, 1), (12, 300, 3)])
def test_tiny_images_give_a_note_not_a_crash(shape):
    tiny = np.random.default_rng(0).random(shape)
    for a, b in ((tiny, _photo("rocket", 64)), (_photo("rocket", 64), tiny)):
        res = recompose(a, b)
        assert any("too small" in n for n in res.notes)
        assert np.asarray(res.image).shape[:2] == np.asarray(a).shape[:2]


def test_bad_inputs_raise_errors_naming_them(tmp_path, capsys):
    bad = tmp_path / "broken.png"
    bad.write_text("not an image")
    with pytest.raises(ValueError, match="broken.png"):
        recompose(bad, np.zeros((20, 20)))
    with pytest.raises(FileNotFoundError, match="missing.jpg"):
        recompose(np.zeros((20, 20)), tmp_path / "missing.jpg")
    with pytest.raises(ValueError, match="shape"):
        recompose(np.zeros((4, 4, 5)), np.zeros((20, 20)))
    with pytest.raises(ValueError, match="NaN"):
        recompose(np.full((20, 20), np.nan), np.zeros((20, 20)))
    good = tmp_path / "good.png"
    Image.new("RGB", (20, 20)).save(good)
    out = str(tmp_path / "o.png")
    assert _cli(["recompose", str(bad), "--reference", str(good), "--out", out]) == 2
    assert "broken.png" in capsys.readouterr().err
    assert _cli(["recompose", str(good), "--reference", str(good), "--out", "o.txt"]) == 2
    assert "image extension" in capsys.readouterr().err
