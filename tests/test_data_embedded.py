"""Embedded domains and named tasks: shapes, ranges, labels, determinism, cache, indexing.

The embedded data are prepared once per session into the normal cache (``$TRANSYNTH_CACHE`` or
``~/.cache/transynth``), so later runs only read it; cache behaviour is tested in tmp dirs.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from test_data_fashion_mnist import _fake_install
from torch.utils.data import default_collate

import transynth.data as D
from transynth.data import SampleIndex, cache
from transynth.data.artwork import ARTWORK  # tested in tests/test_artwork_tasks.py
from transynth.data.domains import DOMAINS, domain_arrays, domain_unavailable
from transynth.data.embedded import fashion_mnist, paired_tasks, printed_digits
from transynth.data.tasks import PAIRED, paired_arrays, task_names

SIZES = {  # (train, test, channels, native size)
    "mnist": (4000, 1000, 1, 28),
    "uci-digits": (1438, 359, 1, 28),
    "printed-digits": (5000, 1000, 3, 32),
    "mnist-m": (4000, 1000, 3, 28),
}


@pytest.fixture(scope="session")
def prepared() -> None:
    """Prepare every embedded domain and paired task once (seconds the first time)."""
    D.prepare()


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    """An empty cache dir, with the in-process memo cleared before and after."""
    monkeypatch.setenv("TRANSYNTH_CACHE", str(tmp_path / "cache"))
    cache.clear_memo()
    yield tmp_path / "cache"
    cache.clear_memo()


@pytest.mark.parametrize("name", list(SIZES))  # fashion-mnist: tests/test_data_fashion_mnist.py
def test_domain_shapes_range_labels(prepared, name):
    n_train, n_test, c, size = SIZES[name]
    for split, n in (("train", n_train), ("test", n_test)):
        x, y = D.load_domain(name, split, size)
        assert x.shape == (n, c, size, size) and x.dtype == torch.float32
        assert y.shape == (n,) and y.dtype == torch.int64
        assert -1.0 <= x.min() < -0.5 and 0.5 < x.max() <= 1.0
        assert sorted(y.unique().tolist()) == list(range(10))
    assert DOMAINS[name].channels == c


@pytest.mark.parametrize("name", ["mnist", "printed-digits"])
@pytest.mark.parametrize("size", [16, 64])
def test_load_domain_resizes(prepared, name, size):
    x, y = D.load_domain(name, "test", size)
    assert x.shape[-2:] == (size, size) and len(x) == len(y)
    assert x.min() >= -1 and x.max() <= 1


def test_splits_are_disjoint_and_mnistm_aligns_with_mnist(prepared):
    m, mm = domain_arrays("mnist"), domain_arrays("mnist-m")
    train = {a.tobytes() for a in m["x_train"]}
    assert not any(a.tobytes() in train for a in m["x_test"])
    for s in ("train", "test"):
        assert np.array_equal(m[f"y_{s}"], mm[f"y_{s}"])
        # the MNIST-M stroke is |photo - digit|: where the digit is 255 the output is 255 - photo,
        # so the gray digit is not simply copied
        assert mm[f"x_{s}"].shape[-1] == 3 and not np.array_equal(
            mm[f"x_{s}"][..., 0], m[f"x_{s}"][..., 0]
        )


def test_bad_domain_and_split():
    with pytest.raises(ValueError, match="known domains"):
        D.load_domain("svhn", "train", 32)
    with pytest.raises(ValueError, match="split"):
        D.load_domain("mnist", "val", 32)


@pytest.mark.parametrize("name", ["mnist", "uci-digits", "mnist-m", "edges2mnist"])
def test_preparation_is_deterministic(prepared, tmp_cache, name):
    """A fresh preparation in another cache dir gives identical arrays."""
    session = dict(domain_arrays(name) if name in DOMAINS else paired_arrays(name))
    cache.clear_memo()
    D.prepare([name])
    fresh = domain_arrays(name) if name in DOMAINS else paired_arrays(name)
    assert any(tmp_cache.glob("*.npz"))
    assert session.keys() == fresh.keys()
    for k in session:
        assert np.array_equal(session[k], fresh[k]), k


@pytest.mark.parametrize("name", ["printed-digits", "sans2serif"])
def test_rendering_is_deterministic(tmp_path, monkeypatch, name):
    """Rendered data (smaller here) are identical when prepared in two cache dirs."""
    monkeypatch.setattr(printed_digits, "NUM_IMAGES", 120)
    monkeypatch.setattr(paired_tasks, "SANS_NUM", 120)
    runs = []
    for d in ("one", "two"):
        monkeypatch.setenv("TRANSYNTH_CACHE", str(tmp_path / d))
        cache.clear_memo()
        D.prepare([name])
        runs.append(domain_arrays(name) if name in DOMAINS else paired_arrays(name))
    cache.clear_memo()
    for k in runs[0]:
        assert np.array_equal(runs[0][k], runs[1][k]), k
    assert sorted(np.unique(runs[0]["y_test"]).tolist()) == list(range(10))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["printed-digits", "sans2serif"])
def test_full_rendering_is_deterministic(prepared, tmp_cache, name):
    session = dict(domain_arrays(name) if name in DOMAINS else paired_arrays(name))
    cache.clear_memo()
    fresh = domain_arrays(name) if name in DOMAINS else paired_arrays(name)
    for k in session:
        assert np.array_equal(session[k], fresh[k]), k


def test_cache_is_reused(tmp_cache, monkeypatch):
    """A second load reads the versioned .npz (the builder is not called again)."""
    assert not any(r["ready"] for r in D.list_datasets() if r["name"] != "fashion-mnist")
    x1, y1 = D.load_domain("uci-digits", "train", 28)
    files = list(tmp_cache.glob("domain-uci-digits-v*.npz"))
    assert len(files) == 1 and not list(tmp_cache.glob("*.tmp"))
    mtime = files[0].stat().st_mtime_ns
    ready = {r["name"]: r["ready"] for r in D.list_datasets()}
    assert ready["uci-digits"] and not ready["mnist"] and not ready["mnist2uci"]

    def boom():
        raise AssertionError("rebuilt although cached")

    spec = DOMAINS["uci-digits"]
    monkeypatch.setitem(DOMAINS, "uci-digits", type(spec)(**{**spec.__dict__, "build": boom}))
    cache.clear_memo()
    x2, y2 = D.load_domain("uci-digits", "train", 28)
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert files[0].stat().st_mtime_ns == mtime


def test_corrupt_cache_file_is_rebuilt(tmp_cache):
    path = cache.cache_path("domain-uci-digits", DOMAINS["uci-digits"].version)
    path.write_bytes(b"not an npz")
    x, _ = D.load_domain("uci-digits", "test", 28)
    assert len(x) == SIZES["uci-digits"][1]
    with np.load(path) as f:
        assert "x_test" in f.files


def test_cache_dir_env(tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSYNTH_CACHE", str(tmp_path / "a" / "b"))
    assert D.cache_dir() == tmp_path / "a" / "b" and D.cache_dir().is_dir()


def test_list_datasets_entries():
    rows = D.list_datasets()
    names = [r["name"] for r in rows]
    assert set(names) == set(task_names())
    for r in rows:
        assert set(r) == {"name", "type", "kind", "description", "ready", "installed"}
        assert r["type"] in ("domain", "task") and r["kind"] in D.KINDS
        assert isinstance(r["ready"], bool) and r["description"]


KEYS = {
    "paired": {"A", "B", "label"},
    "unpaired": {"A", "B", "label_A", "label_B"},
    "classes": {"image", "label"},
    "domains": {"image", "domain", "label"},
    "attributes": {"image", "attrs"},
}


@pytest.mark.parametrize("name", [n for n in task_names() if n not in ARTWORK])
def test_task_items(prepared, name, tmp_path, monkeypatch):
    if name in DOMAINS and domain_unavailable(name):
        # a domain whose files are not installed here (fashion-mnist): tiny fake IDX files
        assert name == "fashion-mnist", domain_unavailable(name)
        (tmp_path / "fashion").mkdir()
        _fake_install(tmp_path / "fashion")
        monkeypatch.setenv("TRANSYNTH_FASHION_MNIST_DIR", str(tmp_path / "fashion"))
        monkeypatch.setattr(fashion_mnist, "_MEMO", {})
    size = 24
    task = D.build_task(name, size)
    assert task.kind in KEYS and task.image_size == size and task.name == name
    assert task.description
    n_spaces = 2 if task.kind == "unpaired" else 1
    for split in (task.train, task.test):
        assert len(split.index_sizes) == n_spaces and min(split.index_sizes) > 0
        items = [split[SampleIndex(k, (k, 2 * k)[:n_spaces])] for k in range(3)]
        batch = default_collate(items)
        assert set(batch) == KEYS[task.kind]
        for key, v in batch.items():
            if key in ("A", "B", "image"):
                c = task.channels[0 if key != "B" else 1]
                assert v.shape == (3, c, size, size) and v.dtype == torch.float32
                assert v.min() >= -1 and v.max() <= 1
            elif key == "attrs":
                assert v.shape == (3, len(task.attribute_names)) and v.dtype == torch.float32
                assert ((v == 0) | (v == 1)).all()
            elif key == "domain":
                assert v.dtype == torch.int64 and ((v >= 0) & (v < len(task.domains))).all()
            else:
                assert v.shape == (3,) and v.dtype == torch.int64
                assert ((v >= 0) & (v <= 9)).all()
    for d, info in enumerate(task.domains):
        if task.kind == "attributes":  # its "classes" are the attributes
            assert info.class_names == task.attribute_names == tuple(task.attribute_names)
        else:
            assert info.num_classes == 10 and len(info.class_names) == 10
        x, y = task.test.domain_tensors(d)
        assert x.shape[1:] == (info.channels, size, size) and len(x) == len(y)
        x2, _ = task.test.domain_tensors(info.name)
        assert torch.equal(x, x2)


def test_task_channels(prepared):
    assert D.build_task("printed2mnist", 32).channels == (3, 1)
    assert D.build_task("mnist2mnistm", 32).channels == (1, 3)
    assert D.build_task("sans2serif", 32).channels == (1, 3)
    gray = D.build_task("printed2mnist", 32, channels=1)
    assert gray.channels == (1, 1) and gray.train[0]["A"].shape == (1, 32, 32)
    rgb = D.build_task("mnist2uci", 32, channels=3)
    a = rgb.train[SampleIndex(0, (5, 5))]["A"]
    assert rgb.channels == (3, 3) and torch.equal(a[0], a[1]) and torch.equal(a[0], a[2])
    assert D.build_task("mnist", 32, channels=3).channels == (3,)


@pytest.mark.parametrize("name", list(PAIRED))
def test_paired_tasks_have_test_pairs(prepared, name):
    task = D.build_task(name, 32)
    assert len(task.test) == 1000 and len(task.train) == 4000
    a, ya = task.test.domain_tensors(0)
    b, yb = task.test.domain_tensors(1)
    assert torch.equal(ya, yb) and len(a) == len(b)
    a1 = a if a.shape[1] == b.shape[1] else a.expand_as(b)
    assert (a1 - b).abs().mean() > 0.1  # A and B are different images
    item = task.test[SampleIndex(0, (7,))]
    assert torch.equal(item["A"], a[7]) and torch.equal(item["B"], b[7])


def test_edges_are_binary_outlines(prepared):
    arr = paired_arrays("edges2mnist")
    assert set(np.unique(arr["a_train"]).tolist()) == {0, 255}
    digit = arr["b_train"][..., 0] > 127
    edge = arr["a_train"][..., 0] > 127
    # outlines surround the strokes: most edge pixels are not stroke pixels, and few pixels
    assert (edge & digit).sum() < 0.35 * edge.sum() and edge.mean() < digit.mean() * 1.5
    assert np.array_equal(arr["y_test"], domain_arrays("mnist")["y_test"])


def test_sans2serif_same_geometry(prepared):
    """A and B ink lies in the same place (same pose/scale/position)."""
    arr = paired_arrays("sans2serif")
    ink_a = arr["a_test"][..., 0] < 128
    ink_b = arr["b_test"].mean(-1) < 128
    iou = (ink_a & ink_b).sum((1, 2)) / np.maximum((ink_a | ink_b).sum((1, 2)), 1)
    assert np.median(iou) > 0.4


def test_unpaired_index_spaces(prepared):
    task = D.build_task("mnist2uci", 28)
    assert task.train.index_sizes == (4000, 1438)
    item = task.train[SampleIndex(0, (3999, 1437))]
    xa, ya = task.train.domain_tensors("mnist")
    xb, yb = task.train.domain_tensors("B")
    assert torch.equal(item["A"], xa[3999]) and torch.equal(item["B"], xb[1437])
    assert item["label_A"] == ya[3999] and item["label_B"] == yb[1437]
    with pytest.raises(IndexError):
        task.train[SampleIndex(0, (0, 1438))]
    with pytest.raises(ValueError, match="unknown domain"):
        task.train.domain_tensors("svhn")


def test_unknown_task_lists_known_names():
    with pytest.raises(ValueError) as e:
        D.build_task("horse2zebra", 32)
    msg = str(e.value)
    for n in ("mnist2uci", "edges2mnist", "sans2serif", "printed-digits", "aligned", "attributes"):
        assert n in msg


def test_image_tensor_round_trip_and_grid(tmp_path):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(5, 3, 8, 6, generator=g) * 2 - 1
    img = D.tensor_to_image(x[0])
    assert img.mode == "RGB" and img.size == (6, 8)
    back = D.image_to_tensor(img, 3)
    assert back.shape == (3, 8, 6) and (back - x[0]).abs().max() <= 1 / 127.5 + 1e-6
    assert D.image_to_tensor(img, 1).shape == (1, 8, 6)
    assert D.tensor_to_image(torch.full((1, 4, 4), 3.0)).getpixel((0, 0)) == 255  # clamped

    D.save_grid(x, tmp_path / "out" / "rgb.png", nrow=3)
    grid = Image.open(tmp_path / "out" / "rgb.png")
    assert grid.mode == "RGB" and grid.size == (3 * 6 + 4 * 2, 2 * 8 + 3 * 2)
    D.save_grid(x[:, :1], tmp_path / "gray.png", nrow=5)
    assert Image.open(tmp_path / "gray.png").mode == "L"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["gray.png", "out", "rgb.png"]
