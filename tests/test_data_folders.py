"""User folders: every layout on tiny files written here, image modes, and the error cases."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import default_collate

import transynth.data as D
from transynth.data import SampleIndex

RED, BLUE, GREEN = (220, 30, 30), (30, 30, 220), (30, 200, 30)


def solid(path: pathlib.Path, size=(12, 10), colour=RED, mode="RGB") -> pathlib.Path:
    """Write an image of one colour in the given PIL mode (RGB, L, RGBA, P, I;16)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rgb = Image.new("RGB", size, colour)
    if mode == "RGB":
        img = rgb
    elif mode == "L":
        img = rgb.convert("L")
    elif mode == "RGBA":
        img = rgb.convert("RGBA")
    elif mode == "P":
        img = rgb.convert("P", palette=Image.ADAPTIVE, colors=4)
    elif mode == "I;16":
        img = Image.fromarray(np.full(size[::-1], 40000, dtype=np.uint16))
    else:
        raise ValueError(mode)
    img.save(path)
    return path


def pair(path: pathlib.Path, w: int = 16, h: int = 8) -> pathlib.Path:
    """An A|B image: red left half, blue right half, with a white mark at A's left edge."""
    path.parent.mkdir(parents=True, exist_ok=True)
    a = np.zeros((h, w, 3), dtype=np.uint8)
    a[:, : w // 2] = RED
    a[:, w // 2 :] = BLUE
    a[:, :2] = 255
    Image.fromarray(a).save(path)
    return path


def mean_rgb(t: torch.Tensor) -> list[float]:
    return ((t + 1) * 127.5).mean(dim=(-1, -2)).tolist()


def test_load_image_modes(tmp_path):
    cases = {"RGB": RED, "L": RED, "RGBA": RED, "P": RED, "I;16": None}
    for mode in cases:
        img = D.load_image(solid(tmp_path / f"x_{mode.replace(';', '')}.png", mode=mode))
        assert img.mode == "RGB" and img.size == (12, 10)
        assert D.load_image(tmp_path / f"x_{mode.replace(';', '')}.png", "L").mode == "L"
    px = np.asarray(D.load_image(tmp_path / "x_P.png"))[0, 0]
    assert abs(int(px[0]) - 220) < 8 and abs(int(px[2]) - 30) < 8
    px = np.asarray(D.load_image(tmp_path / "x_I16.png"))[0, 0]
    assert list(px) == [round(40000 / 257)] * 3  # 16-bit scaled to 8-bit, not clipped
    # transparency is composited on white
    Image.new("RGBA", (4, 4), (0, 0, 0, 0)).save(tmp_path / "clear.png")
    assert np.asarray(D.load_image(tmp_path / "clear.png")).min() == 255
    Image.new("LA", (4, 4), (0, 128)).save(tmp_path / "la.png")
    assert 126 <= np.asarray(D.load_image(tmp_path / "la.png"))[0, 0, 0] <= 129


def test_load_image_unreadable_names_file(tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(np.random.default_rng(0).bytes(300))
    with pytest.raises(ValueError, match="broken.png"):
        D.load_image(bad)
    with pytest.raises(ValueError, match="missing.png"):
        D.load_image(tmp_path / "missing.png")


def test_aligned(tmp_path):
    for k in range(3):
        pair(tmp_path / "train" / f"{k}.png")
    pair(tmp_path / "test" / "t.jpg", 32, 16)
    task = D.build_task(str(tmp_path), 8)
    assert task.kind == "paired" and task.channels == (3, 3)
    assert task.train.index_sizes == (3,) and task.test.index_sizes == (1,)
    item = task.test[SampleIndex(0, (0,))]
    assert item["A"].shape == (3, 8, 8) and item["label"] == -1
    ra, _, ba = mean_rgb(item["A"])
    rb, _, bb = mean_rgb(item["B"])
    assert ra > ba and bb > rb  # A is the red left half, B the blue right half
    # train augmentation is a pure function of (seed, counter) and shared by A and B
    x = task.train[SampleIndex(11, (1,))]
    y = task.train[SampleIndex(11, (1,))]
    assert all(torch.equal(x[k], y[k]) for k in x)
    flips = set()
    for c in range(16):
        it = task.train[SampleIndex(c, (0,))]
        a_left = it["A"][:, :, 0].mean() > it["A"][:, :, -1].mean()  # white mark on the left
        flips.add(bool(a_left))
        assert it["B"].shape == (3, 8, 8)
    assert flips == {True, False}
    a, la = task.test.domain_tensors("A")
    assert a.shape == (1, 3, 8, 8) and la.tolist() == [-1]
    assert D.build_task(str(tmp_path), 8, channels=1).train[0]["A"].shape == (1, 8, 8)


def test_aligned_seed_changes_augmentation(tmp_path):
    pair(tmp_path / "train" / "0.png", 64, 32)
    t0, t1 = D.build_task(str(tmp_path), 16, seed=0), D.build_task(str(tmp_path), 16, seed=1)
    same = [torch.equal(t0.train[c]["A"], t1.train[c]["A"]) for c in range(8)]
    assert not all(same)


def test_aligned_odd_width(tmp_path):
    pair(tmp_path / "train" / "ok.png")
    pair(tmp_path / "train" / "odd.png", w=15)
    with pytest.raises(ValueError, match=r"odd\.png.*width 15"):
        D.build_task(str(tmp_path), 8)


def test_unaligned_with_mixed_modes(tmp_path):
    solid(tmp_path / "trainA" / "a.png", mode="L")
    solid(tmp_path / "trainA" / "b.png", mode="RGBA")
    solid(tmp_path / "trainA" / "c.jpg")
    solid(tmp_path / "trainB" / "d.png", colour=BLUE, mode="P")
    solid(tmp_path / "trainB" / "e.png", mode="I;16")
    (tmp_path / "trainB" / "notes.txt").write_text("ignored")
    task = D.build_task(str(tmp_path), 8)
    assert task.kind == "unpaired" and task.train.index_sizes == (3, 2)
    assert task.test.index_sizes == (0, 0) and len(task.test) == 0
    assert "no test split" in task.description
    batch = default_collate([task.train[SampleIndex(k, (k % 3, k % 2))] for k in range(4)])
    assert batch["A"].shape == (4, 3, 8, 8) and batch["B"].shape == (4, 3, 8, 8)
    assert batch["label_A"].tolist() == [-1] * 4
    xb, _ = task.train.domain_tensors(1)
    assert xb.shape == (2, 3, 8, 8)
    assert mean_rgb(xb[0])[2] > mean_rgb(xb[0])[0]  # the palette image stayed blue
    xe, _ = task.test.domain_tensors("B")
    assert xe.shape == (0, 3, 8, 8)


def test_unaligned_with_test(tmp_path):
    for d in ("trainA", "trainB", "testA", "testB"):
        solid(tmp_path / d / "x.png")
    task = D.build_task(str(tmp_path), 8, layout="unaligned")
    assert task.test.index_sizes == (1, 1)


def test_classes_with_holdout(tmp_path):
    for label, colour in (("cat", RED), ("dog", BLUE)):
        for k in range(5):
            solid(tmp_path / label / f"{k}.png", colour=colour)
    solid(tmp_path / "dog" / "nested" / "deep.png", colour=BLUE)
    task = D.build_task(str(tmp_path), 8, seed=3)
    assert task.kind == "classes" and task.domains[0].class_names == ("cat", "dog")
    assert task.domains[0].num_classes == 2
    assert task.train.index_sizes == (9,) and task.test.index_sizes == (2,)
    _, y = task.test.domain_tensors(0)
    assert sorted(y.tolist()) == [0, 1]  # every class is in the test split
    item = task.test[SampleIndex(0, (0,))]
    assert set(item) == {"image", "label"} and item["label"].dtype == torch.int64
    again = D.build_task(str(tmp_path), 8, seed=3)
    assert again.test.paths == task.test.paths


def test_classes_with_split_folders(tmp_path):
    for split in ("train", "test"):
        for label in ("a", "b", "c"):
            solid(tmp_path / split / label / "0.png")
    task = D.build_task(str(tmp_path), 8)
    assert task.kind == "classes" and task.train.index_sizes == (3,)
    assert task.test.domain_tensors(0)[1].tolist() == [0, 1, 2]


def test_domains_layout(tmp_path):
    for name, colour in (("photo", RED), ("sketch", BLUE), ("paint", GREEN)):
        for k in range(3):
            solid(tmp_path / name / f"{k}.png", colour=colour)
    task = D.build_task(str(tmp_path), 8, layout="domains")
    assert task.kind == "domains"
    assert [d.name for d in task.domains] == ["paint", "photo", "sketch"]
    item = task.train[SampleIndex(0, (0,))]
    assert set(item) == {"image", "domain", "label"} and item["label"] == -1
    x, y = task.train.domain_tensors("sketch")
    assert len(x) == 2 and y.tolist() == [-1, -1]  # 3 images, one held out
    assert mean_rgb(x[0])[2] > 150


def _celeba(root: pathlib.Path, names: list[str], extra: list[str] = ()) -> None:
    for k, n in enumerate(names):
        solid(root / "img_align_celeba" / n, colour=(RED, BLUE)[k % 2], mode=("RGB", "L")[k % 2])
    rows = [
        f"{n} {' '.join(['1', '-1', '1'] if k % 2 else ['-1', '-1', '1'])}"
        for k, n in enumerate(list(names) + list(extra))
    ]
    text = f"{len(rows)}\nBlack_Hair Eyeglasses Young\n" + "\n".join(rows) + "\n"
    (root / "list_attr_celeba.txt").write_text(text)


def test_attributes_celeba(tmp_path):
    names = [f"{k:06d}.jpg" for k in range(1, 11)]
    _celeba(tmp_path, names)
    task = D.build_task(str(tmp_path), 8)
    assert task.kind == "attributes"
    assert task.attribute_names == ("Black_Hair", "Eyeglasses", "Young")
    assert task.train.index_sizes == (9,) and task.test.index_sizes == (1,)
    item = task.train[SampleIndex(0, (0,))]
    assert set(item) == {"image", "attrs"} and item["attrs"].dtype == torch.float32
    assert set(torch.cat([task.train[i]["attrs"] for i in range(9)]).tolist()) <= {0.0, 1.0}
    # with CelebA's partition file: 2 = test
    part = "\n".join(f"{n} {2 if k < 3 else 0}" for k, n in enumerate(names))
    (tmp_path / "list_eval_partition.txt").write_text(part)
    task = D.build_task(str(tmp_path), 8)
    assert task.test.index_sizes == (3,)
    assert task.test.attrs.tolist() == [[0, 0, 1], [1, 0, 1], [0, 0, 1]]


def test_attributes_csv(tmp_path):
    solid(tmp_path / "images" / "a.png")
    solid(tmp_path / "images" / "b.png", mode="RGBA")
    solid(tmp_path / "images" / "c.png", mode="P")
    (tmp_path / "attrs.csv").write_text(
        "file,smile,hat\nimages/a.png,1,0\nimages/b.png,0,1\nc.png,1,1\n"
    )
    task = D.build_task(str(tmp_path), 8, seed=0)
    assert task.kind == "attributes" and task.attribute_names == ("smile", "hat")
    both = torch.cat([task.train.attrs, task.test.attrs])
    assert sorted(both.tolist()) == [[0, 1], [1, 0], [1, 1]]
    x, _ = task.train.domain_tensors(0)
    assert x.shape == (2, 3, 8, 8)


def test_attributes_missing_files(tmp_path):
    _celeba(tmp_path, ["1.jpg", "2.jpg"], extra=["gone1.jpg", "gone2.jpg", "gone3.jpg"])
    with pytest.raises(ValueError, match=r"3 missing.*gone1\.jpg.*gone2\.jpg"):
        D.build_task(str(tmp_path), 8)


def test_empty_and_imageless_folders(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match=r"empty.*accepted layouts.*aligned.*unaligned"):
        D.build_task(str(empty), 8)
    (tmp_path / "texts" / "sub").mkdir(parents=True)
    (tmp_path / "texts" / "sub" / "a.txt").write_text("x")
    with pytest.raises(ValueError, match="accepted layouts"):
        D.build_task(str(tmp_path / "texts"), 8)
    (tmp_path / "u" / "trainA").mkdir(parents=True)
    solid(tmp_path / "u" / "trainB" / "b.png")
    with pytest.raises(ValueError, match="trainA"):
        D.build_task(str(tmp_path / "u"), 8)


def test_forced_layout_mismatch_and_unknown_layout(tmp_path):
    solid(tmp_path / "cls" / "x.png")
    with pytest.raises(ValueError, match="train/"):
        D.build_task(str(tmp_path), 8, layout="aligned")
    with pytest.raises(ValueError, match="unknown layout"):
        D.build_task(str(tmp_path), 8, layout="pix2pix")


def test_corrupt_file_is_named(tmp_path):
    solid(tmp_path / "trainA" / "good.png")
    solid(tmp_path / "trainB" / "good.png")
    (tmp_path / "trainB" / "corrupt.png").write_bytes(np.random.default_rng(1).bytes(500))
    with pytest.raises(ValueError, match="corrupt.png"):
        D.build_task(str(tmp_path), 8)


def test_truncated_file_fails_on_read_naming_it(tmp_path):
    solid(tmp_path / "a" / "ok.png")
    big = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(big).save(tmp_path / "a" / "cut.png")
    data = (tmp_path / "a" / "cut.png").read_bytes()
    (tmp_path / "a" / "cut.png").write_bytes(data[: len(data) // 2])
    task = D.build_task(str(tmp_path), 8)  # the header is fine; decoding fails later
    split = task.train if "cut.png" in task.train.paths[0] else task.test
    with pytest.raises(ValueError, match="cut.png"):
        split[SampleIndex(0, (split.paths.index(str(tmp_path / "a" / "cut.png")),))]


def test_known_name_vs_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    solid(tmp_path / "nosuch" / "trainA" / "a.png")
    solid(tmp_path / "nosuch" / "trainB" / "b.png")
    assert D.build_task("nosuch", 8).kind == "unpaired"
    with pytest.raises(ValueError, match="not a folder"):
        D.build_task(str(solid(tmp_path / "f.png")), 8)
