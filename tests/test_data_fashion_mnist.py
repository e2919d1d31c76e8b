"""The fashion-mnist domain, read from (tiny, fake) IDX files in a folder given by the env var."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
import torch

import transynth.data as D
from transynth.cli import main
from transynth.data.domains import DOMAINS, domain_ready, domain_unavailable
from transynth.data.embedded import fashion_mnist
from transynth.eval.classifier import EMBEDDED_DOMAINS


def _write_idx(path, array: np.ndarray, magic: int) -> None:
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def _fake_install(folder, n_train: int = 30, n_test: int = 12, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        x = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        y = np.arange(n, dtype=np.uint8) % 10
        _write_idx(folder / f"{split}-images-idx3-ubyte.gz", x, 0x00000803)
        _write_idx(folder / f"{split}-labels-idx1-ubyte.gz", y, 0x00000801)
        arrays[split] = (x, y)
    return arrays


@pytest.fixture
def installed(tmp_path, monkeypatch):
    folder = tmp_path / "fashion"
    folder.mkdir()
    arrays = _fake_install(folder)
    monkeypatch.setenv("TRANSYNTH_FASHION_MNIST_DIR", str(folder))
    monkeypatch.setenv("TRANSYNTH_CACHE", str(tmp_path / "cache"))
    fashion_mnist._MEMO.clear()
    yield arrays
    fashion_mnist._MEMO.clear()


@pytest.fixture
def absent(tmp_path, monkeypatch):
    folder = tmp_path / "no-fashion"
    monkeypatch.setenv("TRANSYNTH_FASHION_MNIST_DIR", str(folder))
    monkeypatch.setenv("TRANSYNTH_CACHE", str(tmp_path / "cache"))
    return folder


def test_reads_idx_files_as_shipped(installed) -> None:
    assert domain_ready("fashion-mnist") and domain_unavailable("fashion-mnist") is None
    x, y = D.load_domain("fashion-mnist", "train", 28)
    assert x.shape == (30, 1, 28, 28) and x.dtype == torch.float32
    assert y.dtype == torch.int64 and y.tolist() == [i % 10 for i in range(30)]
    raw = torch.from_numpy(installed["train"][0].astype(np.float32))
    torch.testing.assert_close(x[:, 0], raw / 127.5 - 1.0)  # uint8 -> [-1, 1], same order
    xt, yt = D.load_domain("fashion-mnist", "test", 32)
    assert xt.shape == (12, 1, 32, 32) and torch.equal(yt, torch.arange(12) % 10)
    assert not any((D.cache_dir()).glob("*fashion*"))  # read from the files, not cached


def test_task_class_names_and_listing(installed) -> None:
    task = D.build_task("fashion-mnist", 28)
    info = task.domains[0]
    assert task.kind == "classes" and info.num_classes == 10
    assert info.class_names[0] == "T-shirt/top" and info.class_names[9] == "Ankle boot"
    assert D.build_task("mnist2uci", 28).domains[0].class_names[3] == "3"  # digits unchanged
    row = {r["name"]: r for r in D.list_datasets()}["fashion-mnist"]
    assert row["ready"] and row["type"] == "domain" and "not installed" not in row["description"]
    assert "fashion-mnist" in EMBEDDED_DOMAINS and DOMAINS["fashion-mnist"].channels == 1


def test_missing_install_is_a_clear_error(absent, capsys, monkeypatch) -> None:
    assert not domain_ready("fashion-mnist")
    with pytest.raises(FileNotFoundError) as err:
        D.load_domain("fashion-mnist", "train", 28)
    assert str(absent) in str(err.value)
    assert "apt-get install dataset-fashion-mnist" in str(err.value)
    row = {r["name"]: r for r in D.list_datasets()}["fashion-mnist"]
    assert not row["ready"] and "not installed" in row["description"]
    assert str(absent) in row["description"]
    prepared = []
    with monkeypatch.context() as m:
        m.setattr("transynth.data.domains.domain_arrays", prepared.append)
        m.setattr("transynth.data.tasks.paired_arrays", prepared.append)
        D.prepare()  # the default preparation skips the missing install ...
    assert "mnist" in prepared and "fashion-mnist" not in prepared
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist"):
        D.prepare(["fashion-mnist"])  # ... but naming it explicitly fails
    assert main(["datasets"]) == 0
    line = next(s for s in capsys.readouterr().out.splitlines() if s.startswith("fashion-mnist"))
    assert "not installed" in line


def test_partial_install_names_the_missing_files(installed, tmp_path) -> None:
    folder = tmp_path / "fashion"
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    message = domain_unavailable("fashion-mnist")
    assert message and "t10k-labels-idx1-ubyte.gz" in message and "train-images" not in message


def test_corrupt_idx_files_are_rejected(installed, tmp_path) -> None:
    folder = tmp_path / "fashion"
    _write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros((5, 2)), 0x00000803)
    with pytest.raises(ValueError, match="magic"):
        D.load_domain("fashion-mnist", "train", 28)
    _write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(29), 0x00000801)
    with pytest.raises(ValueError, match="labels"):
        D.load_domain("fashion-mnist", "train", 28)
    path = folder / "t10k-images-idx3-ubyte.gz"
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">IIII", 0x00000803, 12, 28, 28) + b"\0" * 100)  # truncated
    _fake_install(folder, n_test=12)
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">IIII", 0x00000803, 12, 28, 28) + b"\0" * 100)
    with pytest.raises(ValueError, match="header says"):
        D.load_domain("fashion-mnist", "test", 28)


def test_evaluator_trains_on_the_installed_domain(installed, tmp_path, monkeypatch) -> None:
    import transynth.eval.classifier as clf

    monkeypatch.setattr(clf, "cache_dir", lambda: tmp_path / "cache")
    for key, value in (("min_steps", 3), ("max_steps", 3), ("batch_size", 8)):
        monkeypatch.setitem(clf.TRAINING, key, value)
    clf.clear_evaluator_memo()
    with pytest.warns(UserWarning, match="too weak"):  # random images: chance accuracy
        ev = clf.get_evaluator("fashion-mnist", 28, 1)
    clf.clear_evaluator_memo()
    assert ev.num_classes == 10 and ev.domain == "fashion-mnist"
    assert 0.0 <= ev.test_accuracy <= 1.0
