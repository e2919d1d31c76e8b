"""The domain-adaptation methods (UNIT, CDRD, E-CDRD, DTN) on a user's unaligned folder: a
labelled source (trainA/<class>/), an unlabelled or labelled target (trainB/, flat or with class
folders) and labelled test splits (testA/<class>/, testB/<class>/).

Source: dark shapes on a light background; target: light shapes on a dark one; the classes are a
disc, a square and a cross (20 training and 6 test images per class and side, 32 px, trained at
the tiny presets' 16 px)."""

from __future__ import annotations

import pathlib
import shutil

import numpy as np
import pytest
import torch
from conftest import tiny_overrides
from PIL import Image

import transynth
from transynth.config import ConfigError
from transynth.data import build_task
from transynth.models.adaptation_data import without_target_labels
from transynth.runfolder import RunFolder

METHODS = ("unit", "cdrd", "ecdrd", "dtn")
CLASSES = ("cross", "disc", "square")
N_TRAIN, N_TEST, SIZE = 20, 6, 32
#: The key each method's target test accuracy is reported under (as on the embedded tasks).
TARGET_KEY = {
    "unit": "target_test_accuracy",
    "cdrd": "target_test_accuracy",
    "ecdrd": "target_test_accuracy",
    "dtn": "f/target_test_accuracy",
}


def _shape(cls: str, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[:SIZE, :SIZE]
    cx, cy = SIZE / 2 + rng.integers(-3, 4, size=2)
    r = int(rng.integers(7, 11))
    if cls == "disc":
        return (xx - cx) ** 2 + (yy - cy) ** 2 < r * r
    if cls == "square":
        return (abs(xx - cx) < r) & (abs(yy - cy) < r)
    return (abs(xx - cx) < 2) | (abs(yy - cy) < 2)


def write_folder(
    root: pathlib.Path,
    *,
    source_labels: bool = True,
    target_train: str = "classes",  # classes | scrambled | flat
) -> pathlib.Path:
    """The synthetic folder; `target_train` files trainB/ under its true class folders, under
    wrong ones (the same images, a cyclic shift of the classes) or flat."""
    rng = np.random.default_rng(0)
    for side, fg, bg in (("A", 30, 220), ("B", 230, 20)):
        for split, n in (("train", N_TRAIN), ("test", N_TEST)):
            for c, cls in enumerate(CLASSES):
                folder = root / f"{split}{side}"
                if split == "train" and side == "A" and not source_labels:
                    pass
                elif split == "train" and side == "B" and target_train == "flat":
                    pass
                elif split == "train" and side == "B" and target_train == "scrambled":
                    folder = folder / CLASSES[(c + 1) % len(CLASSES)]
                else:
                    folder = folder / cls
                folder.mkdir(parents=True, exist_ok=True)
                for k in range(n):
                    img = np.where(_shape(cls, rng), fg, bg).astype(np.uint8)
                    Image.fromarray(img).convert("RGB").save(folder / f"{side}_{cls}_{k:02d}.png")
    return root


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> pathlib.Path:
    return write_folder(tmp_path_factory.mktemp("da") / "shapes")


def train(
    method: str, data: pathlib.Path, out: pathlib.Path, steps: int = 3, **model
) -> pathlib.Path:
    if method == "dtn":  # f pre-trains on the source labels for the first steps, then g and D
        model = {"f_pretrain_steps": 2, **model}
    overrides = tiny_overrides(method, model, steps=steps)
    return transynth.train(method, str(data), preset="cpu", out=out, overrides=overrides)


def test_the_folder_gives_a_labelled_source_and_labelled_target_test_images(folder):
    task = build_task(str(folder), 16)
    a, b = task.domains
    assert a.class_names == b.class_names == CLASSES
    assert task.train.domain_tensors("A")[1].bincount().tolist() == [N_TRAIN] * 3
    assert task.test.domain_tensors("B")[1].bincount().tolist() == [N_TEST] * 3


@pytest.mark.parametrize("method", METHODS)
def test_trains_on_the_folder_and_scores_the_target_test_labels(method, folder, tmp_path):
    run = train(method, folder, tmp_path / method)
    metrics = transynth.evaluate(run)
    key = TARGET_KEY[method]
    # Known answer: the loaded model's target classifier on testB's images, against the class
    # of each file as this test wrote it (read from its name, not from the data layer).
    model = transynth.load(run)
    task = build_task(str(folder), model.image_size)
    x, _ = task.test.domain_tensors("B")
    truth = torch.tensor([CLASSES.index(n.split("_")[1]) for n in task.test.file_names("B")])
    with torch.no_grad():
        if method == "dtn":
            logits = model.source_classifier_logits(x)
        else:
            logits = model.classify(x, 1)
    assert metrics[key] == pytest.approx(float((logits.argmax(1) == truth).float().mean()))
    if method != "dtn":
        assert metrics["num_target_test"] == 3 * N_TEST
        assert metrics["num_target_train"] == 3 * N_TRAIN  # transductive, labelled as such
        assert "source_only/target_test_accuracy" in metrics
        assert "source_test_accuracy" in metrics
    else:
        assert "f/source_test_accuracy" in metrics


@pytest.mark.parametrize("method", METHODS)
def test_target_training_labels_never_reach_training(method, tmp_path):
    """trainB/ under its true class folders, under scrambled ones, and flat: the same weights
    after the same steps (the target's test labels, the same in all three, only score)."""
    weights = []
    for variant in ("classes", "scrambled", "flat"):
        data = write_folder(tmp_path / variant / "shapes", target_train=variant)
        model = transynth.load(train(method, data, tmp_path / variant / "run"))
        weights.append({k: v.clone() for k, v in model.state_dict().items()})
        shutil.rmtree(data)
    for other in weights[1:]:
        assert other.keys() == weights[0].keys()
        for k in weights[0]:
            assert torch.equal(weights[0][k], other[k]), k


def test_without_target_labels_keeps_the_source_labels():
    batch = {"A": torch.zeros(2), "label_A": torch.tensor([1, 2]), "label_B": torch.tensor([0, 2])}
    out = without_target_labels(batch)
    assert out["label_A"].tolist() == [1, 2] and out["label_B"].tolist() == [-1, -1]
    assert batch["label_B"].tolist() == [0, 2]  # the caller's batch is left as it is


@pytest.mark.parametrize("method", METHODS)
def test_a_source_without_labels_is_refused_naming_its_folder(method, tmp_path):
    data = write_folder(tmp_path / "shapes", source_labels=False)
    with pytest.raises(ConfigError, match=r"trainA.*class sub-folders.*labels\.csv"):
        train(method, data, tmp_path / "run", steps=1)
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


def test_unit_without_source_labels_trains_as_a_translator_when_asked(tmp_path):
    data = write_folder(tmp_path / "shapes", source_labels=False)
    with pytest.raises(ConfigError, match="lambda_cls=0"):
        train("unit", data, tmp_path / "refused", steps=1)
    model = transynth.load(train("unit", data, tmp_path / "run", steps=1, lambda_cls=0.0))
    assert not model.adapts


@pytest.mark.parametrize("method", METHODS)
def test_a_partly_labelled_source_trains_through_batches_without_labels(method, tmp_path):
    """labels.csv naming 3 of the 60 source images: most batches of 2 hold no labelled source,
    and their classification terms are 0 (not an error, not NaN); the labelled ones train."""
    data = write_folder(tmp_path / "shapes", source_labels=False, target_train="flat")
    for d in ("testA", "testB"):  # labels from labels.csv only: flatten the test folders too
        for f in list((data / d).rglob("*.png")):
            f.rename(data / d / f.name)
        for sub in [p for p in (data / d).iterdir() if p.is_dir()]:
            sub.rmdir()
    rows = ["file,label"] + [f"trainA/A_{c}_00.png,{c}" for c in CLASSES]
    rows += [f"testB/{f.name},{f.name.split('_')[1]}" for f in sorted((data / "testB").iterdir())]
    (data / "labels.csv").write_text("\n".join(rows) + "\n")
    run = train(method, data, tmp_path / "run", steps=4)
    logged = RunFolder(run).log.read_text()
    assert "NaN" not in logged and "nan" not in logged.lower()
    model = transynth.load(run)
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert TARGET_KEY[method] in transynth.evaluate(run)
