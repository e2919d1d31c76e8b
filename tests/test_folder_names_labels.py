"""Folder splits expose each item's file name key and carry class labels of unaligned folders."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
import torch
from PIL import Image

import transynth.data as D
from transynth.data import SampleIndex


def img(path: pathlib.Path, value: int = 128, size: int = 8) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size, size, 3), value, dtype=np.uint8)).save(path)


def test_unaligned_names_match_across_sides_in_domain_tensor_order(tmp_path):
    for d, v in (("trainA", 10), ("trainB", 240), ("testA", 10), ("testB", 240)):
        for n in ("b", "a"):
            img(tmp_path / d / f"{n}.png", v)
    img(tmp_path / "testB" / "only_b.jpg", 240)
    task = D.build_task(str(tmp_path), 8)
    assert task.test.file_names("A") == ["a", "b"]
    assert task.test.file_names(1) == ["a", "b", "only_b"]
    paths = task.test.file_paths("B")
    assert [pathlib.Path(p).stem for p in paths] == task.test.file_names("B")
    x, y = task.test.domain_tensors("B")
    assert len(x) == 3 and y.tolist() == [-1, -1, -1]
    assert task.domains[0].num_classes is None


def test_unaligned_refuses_mixed_flat_and_class_folders(tmp_path):
    img(tmp_path / "trainA" / "x.png")
    img(tmp_path / "trainA" / "cat" / "y.png")
    img(tmp_path / "trainB" / "z.png")
    with pytest.raises(ValueError, match=r"trainA.*mixes.*cat"):
        D.build_task(str(tmp_path), 8)


def test_unaligned_class_folders_give_shared_labels_and_keys_without_class(tmp_path):
    for d in ("trainA", "testA"):
        img(tmp_path / d / "cat" / "c1.png", 20)
        img(tmp_path / d / "dog" / "d1.png", 60)
    for d in ("trainB", "testB"):
        img(tmp_path / d / "dog" / "d1.png", 200)
        img(tmp_path / d / "fox" / "f1.png", 220)
        img(tmp_path / d / "cat" / "c1.png", 240)
    task = D.build_task(str(tmp_path), 8)
    a, b = task.domains
    assert a.class_names == b.class_names == ("cat", "dog", "fox") and a.num_classes == 3
    assert task.train.domain_tensors("A")[1].tolist() == [0, 1]
    assert task.test.domain_tensors("B")[1].tolist() == [0, 1, 2]
    assert task.test.file_names("A") == ["c1", "d1"]  # the class folder is not in the key
    assert task.test.file_names("B") == ["c1", "d1", "f1"]
    item = task.train[SampleIndex(0, (1, 2))]
    assert item["label_A"].item() == 1 and item["label_B"].item() == 2
    assert "3 classes from class sub-folders" in task.description


def test_unaligned_labels_csv(tmp_path):
    for d in ("trainA", "trainB", "testA", "testB"):
        for n in ("p", "q", "r"):
            img(tmp_path / d / f"{n}.png")
    (tmp_path / "labels.csv").write_text(
        "file,label\ntrainA/p.png,7\ntrainA/q,10\ntestA/r.png,7\ntestB/p.png,2\n"
    )
    task = D.build_task(str(tmp_path), 8)
    assert task.domains[0].class_names == ("2", "7", "10")  # integers sorted numerically
    assert task.train.domain_tensors("A")[1].tolist() == [1, 2, -1]
    assert task.train.domain_tensors("B")[1].tolist() == [-1, -1, -1]
    assert task.test.domain_tensors("A")[1].tolist() == [-1, -1, 1]
    assert task.test.domain_tensors("B")[1].tolist() == [0, -1, -1]
    (tmp_path / "labels.csv").write_text("file,label\ntrainA/missing.png,1\n")
    with pytest.raises(ValueError, match="missing.png"):
        D.build_task(str(tmp_path), 8)
    (tmp_path / "labels.csv").write_text("name,class\nx,1\n")
    with pytest.raises(ValueError, match="file,label"):
        D.build_task(str(tmp_path), 8)


def test_labels_csv_and_class_folders_together_are_refused(tmp_path):
    img(tmp_path / "trainA" / "cat" / "x.png")
    img(tmp_path / "trainB" / "y.png")
    (tmp_path / "labels.csv").write_text("file,label\ntrainB/y.png,cat\n")
    with pytest.raises(ValueError, match="not both"):
        D.build_task(str(tmp_path), 8)


def test_domains_folder_names_and_split_by_name(tmp_path):
    names = [f"icon{k:02d}" for k in range(20)]
    for dom in ("tango", "oxygen", "gnome"):
        for n in names:
            img(tmp_path / dom / f"{n}.png")
    task = D.build_task(str(tmp_path), 8, layout="domains", seed=1)
    test_names = [task.test.file_names(d) for d in range(3)]
    assert test_names[0] == test_names[1] == test_names[2] and len(test_names[0]) == 2
    train_names = set(task.train.file_names("tango"))
    assert train_names.isdisjoint(test_names[0]) and len(train_names) == 18
    x, _ = task.test.domain_tensors("oxygen")
    assert len(x) == len(task.test.file_names("oxygen"))
    assert "by file name" in task.description


def test_domains_with_train_test_folders_have_names(tmp_path):
    for split, ns in (("train", ["a", "b"]), ("test", ["c"])):
        for dom in ("x", "y"):
            for n in ns:
                img(tmp_path / split / dom / "deep" / f"{n}.png")
    task = D.build_task(str(tmp_path), 8, layout="domains")
    assert task.test.file_names("y") == ["deep/c"]
    assert task.train.file_names(0) == ["deep/a", "deep/b"]


def test_aligned_names_and_tensor_tasks_have_none(tmp_path):
    for split, n in (("train", "one"), ("test", "two")):
        p = tmp_path / split / f"{n}.png"
        p.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.zeros((8, 16, 3), dtype=np.uint8)).save(p)
    task = D.build_task(str(tmp_path), 8)
    assert task.kind == "paired"
    assert task.test.file_names("A") == task.test.file_names("B") == ["two"]
    from transynth.data.datasets import TensorUnpairedDataset

    t = torch.zeros(2, 1, 4, 4)
    ds = TensorUnpairedDataset(t, torch.zeros(2), t, torch.zeros(2), ("A", "B"))
    assert ds.file_names("A") is None and ds.file_paths(0) is None
