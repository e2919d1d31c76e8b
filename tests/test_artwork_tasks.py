"""The real-image tasks (data/artwork.py): icon themes and bundled photos, materialised as folders.

The tasks are built once per session into the normal cache (``$TRANSYNTH_CACHE`` or
``~/.cache/transynth``, like tests/test_data_embedded.py), then reused; a few tests build
synthetic themes into a temporary cache instead.
"""

from __future__ import annotations

import hashlib
import os
import pathlib

import numpy as np
import pytest
from PIL import Image

import transynth.data as D
from transynth.data import artwork as A
from transynth.data.embedded import icons, photo_pairs

ICON_TASKS = [n for n, s in A.ARTWORK.items() if s.themes]
PHOTO_TASKS = [n for n, s in A.ARTWORK.items() if not s.themes]
MISSING = icons.missing_themes(list(icons.THEMES))
needs_themes = pytest.mark.skipif(
    bool(MISSING),
    reason=f"needs the Debian icon themes ({icons.install_hint(MISSING or ['mate'])})",
)


@pytest.fixture(scope="session")
def built() -> dict[str, pathlib.Path]:
    """Every icon task's folder (built on first use)."""
    if MISSING:
        pytest.skip(f"needs the Debian icon themes ({icons.install_hint(MISSING)})")
    return {n: A.materialise(n) for n in ICON_TASKS}


@pytest.fixture(scope="session")
def photo_built() -> dict[str, pathlib.Path]:
    return {n: A.materialise(n) for n in PHOTO_TASKS}


def _digest(a: np.ndarray) -> bytes:
    return hashlib.sha1(np.ascontiguousarray(a).tobytes()).digest()


def _read(path: pathlib.Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def _images(folder: pathlib.Path, kind: str) -> dict[str, dict[str, dict[str, np.ndarray]]]:
    """{split: {domain: {name: image}}} read back from a task folder."""
    out: dict[str, dict[str, dict[str, np.ndarray]]] = {"train": {}, "test": {}}
    for split in out:
        if kind == "paired":
            for p in sorted((folder / split).glob("*.png")):
                ab = _read(p)
                half = ab.shape[1] // 2
                out[split].setdefault("A", {})[p.stem] = ab[:, :half]
                out[split].setdefault("B", {})[p.stem] = ab[:, half:]
        elif kind == "unpaired":
            for d in "AB":
                out[split][d] = {p.stem: _read(p) for p in (folder / f"{split}{d}").glob("*.png")}
        else:
            for sub in sorted((folder / split).iterdir()):
                out[split][sub.name] = {p.stem: _read(p) for p in sub.glob("*.png")}
    return out


def _names(images: dict[str, dict[str, np.ndarray]]) -> set[str]:
    return set().union(*(set(v) for v in images.values()))


@needs_themes
def test_split_of_a_name_is_the_same_in_every_task(built):
    seen: dict[str, str] = {}
    groups = icons.name_groups()
    for name, folder in built.items():
        imgs = _images(folder, A.ARTWORK[name].kind)
        for split in ("train", "test"):
            for n in _names(imgs[split]):
                assert seen.setdefault(n, split) == split, (name, n)
                assert icons.split_of(n, groups) == split
    test_share = sum(s == "test" for s in seen.values()) / len(seen)
    assert 0.1 < test_share < 0.35, test_share  # about 80/20 by group


@needs_themes
def test_no_name_or_image_in_both_splits_nor_twice_in_one(built):
    for name, folder in built.items():
        imgs = _images(folder, A.ARTWORK[name].kind)
        assert not _names(imgs["train"]) & _names(imgs["test"]), name
        by_split = {}
        for split in ("train", "test"):
            keys = [_digest(im) for d in imgs[split].values() for im in d.values()]
            assert len(keys) == len(set(keys)), f"{name} {split}: an image appears twice"
            by_split[split] = set(keys)
        assert not by_split["train"] & by_split["test"], f"{name}: an image in both splits"


@needs_themes
def test_aliases_of_one_drawing_share_a_group():
    table = icons.theme_icons("mate")
    by_path: dict[str, list[str]] = {}
    for n, (_, p) in table.items():
        by_path.setdefault(p, []).append(n)
    aliased = [ns for ns in by_path.values() if len(ns) > 1]
    assert aliased  # MATE has symlinked aliases
    groups = icons.name_groups()
    for ns in aliased:
        assert len({groups[n] for n in ns}) == 1, ns


@needs_themes
@pytest.mark.parametrize("name", ICON_TASKS)
def test_icon_task_reads_back_through_the_folder_path(built, name):
    spec = A.ARTWORK[name]
    task = D.build_task(name, spec.size)
    imgs = _images(built[name], spec.kind)
    assert task.name == name and task.kind == spec.kind and task.image_size == spec.size
    assert all(c == 3 for c in task.channels)
    assert f"{spec.size} px" in task.description and "sources:" in task.description
    n_train, n_test = len(_names(imgs["train"])), len(_names(imgs["test"]))
    assert f"{n_train}/{n_test} train/test names" in task.description
    assert n_train >= 50 and n_test >= 10
    if spec.kind == "paired":
        assert task.train.index_sizes == (n_train,) and task.test.index_sizes == (n_test,)
        item = task.test[0]
        assert item["A"].shape == item["B"].shape == (3, spec.size, spec.size)
    elif spec.kind == "unpaired":
        a, b = imgs["train"]["A"], imgs["train"]["B"]
        assert not set(a) & set(b) and abs(len(a) - len(b)) <= 1  # disjoint halves
        assert set(imgs["test"]["A"]) == set(imgs["test"]["B"])  # ground truth by name
        assert task.train.index_sizes == (len(a), len(b))
    else:
        assert [d.name for d in task.domains] == sorted(spec.themes)
        for split in ("train", "test"):
            assert len({frozenset(v) for v in imgs[split].values()}) == 1  # same names
        x, _ = task.test.domain_tensors(spec.themes[0])
        assert x.shape == (n_test, 3, spec.size, spec.size)


@needs_themes
def test_the_two_styles_of_a_pair_are_different_drawings(built):
    for name in ICON_TASKS:
        imgs = _images(built[name], A.ARTWORK[name].kind)["test"]
        styles = list(imgs.values())
        for n in styles[0]:
            diffs = [np.abs(s[n].astype(int) - styles[0][n].astype(int)).mean() for s in styles]
            assert min(diffs[1:]) > 3, (name, n)  # not the same file
        mean = np.mean(
            [
                np.abs(s[n].astype(int) - styles[0][n].astype(int)).mean()
                for s in styles[1:]
                for n in styles[0]
            ]
        )
        assert mean > 20, (name, mean)  # another artist's drawing, not a recolouring


@needs_themes
def test_128_px_tasks_use_only_icons_of_at_least_128_px(built):
    for name in ICON_TASKS:
        spec = A.ARTWORK[name]
        tables = [icons.theme_icons(k) for k in spec.themes]
        names = _names(_images(built[name], spec.kind)["train"])
        assert all(t[n][0] >= spec.size for t in tables for n in names)


def _png(path: pathlib.Path, rgba: np.ndarray) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgba, "RGBA").save(path)
    return path


def test_alpha_is_composited_on_the_background_before_resizing(tmp_path):
    rgba = np.zeros((128, 128, 4), dtype=np.uint8)
    rgba[:, :64] = (200, 20, 20, 255)  # opaque red left half
    rgba[:, 64:96] = (0, 0, 0, 128)  # half-transparent black
    # right quarter: fully transparent, with garbage colour that must not show
    rgba[:, 96:] = (0, 255, 0, 0)
    out = icons.render_icon(_png(tmp_path / "i.png", rgba), 64)
    assert out.shape == (64, 64, 3) and out.dtype == np.uint8
    assert (out[:, :28] == (200, 20, 20)).all()
    assert (out[:, 52:] == icons.BACKGROUND).all()
    half = np.array(icons.BACKGROUND) * (1 - 128 / 255)
    assert np.abs(out[:, 36:44].astype(float) - half).max() <= 1.5


def test_icons_are_never_upscaled(tmp_path):
    path = _png(tmp_path / "small.png", np.full((48, 48, 4), 255, dtype=np.uint8))
    with pytest.raises(ValueError, match="never upscaled"):
        icons.render_icon(path, 64)
    assert icons.render_icon(path, 48).shape == (48, 48, 3)


def _fake_themes(root: pathlib.Path) -> None:
    """Faenza and Moka folders: 'a..' icons at 96 / 256 px, an alias, a 32-px-only icon."""
    rng = np.random.default_rng(0)
    for key, sub, size in (("faenza", "apps/96", 96), ("moka", "256x256/apps", 256)):
        theme = root / icons.THEMES[key].folder
        (theme / "index.theme").parent.mkdir(parents=True, exist_ok=True)
        (theme / "index.theme").write_text("[Icon Theme]\n")
        for i in range(12):
            _png(theme / sub / f"icon{i:02d}.png", rng.integers(0, 256, (size, size, 4), np.uint8))
        os.symlink(theme / sub / "icon00.png", theme / sub / "alias.png")
        _png(theme / "32" / "tiny.png", np.zeros((32, 32, 4), np.uint8))


def test_a_task_built_from_synthetic_themes(tmp_path, monkeypatch):
    monkeypatch.setenv(icons.ENV_VAR, str(tmp_path / "icons"))
    monkeypatch.setenv("TRANSYNTH_CACHE", str(tmp_path / "cache"))
    _fake_themes(tmp_path / "icons")
    name = "icons-faenza2moka"
    row = {r["name"]: r for r in D.list_datasets()}[name]
    assert row["installed"] and not row["ready"]
    task = D.build_task(name, 64)
    folder = A.artwork_path(name)
    got = {p.stem for s in ("train", "test") for p in (folder / s).glob("*.png")}
    # the alias duplicates icon00 in both themes (one group, one split): only the first name
    # (sorted) is kept; the 32-px icon is too small for 64 px
    assert got == {"alias"} | {f"icon{i:02d}" for i in range(1, 12)}
    assert icons.name_groups()["alias"] == icons.name_groups()["icon00"]
    assert len(task.train) + len(task.test) == 12
    assert {r["name"]: r for r in D.list_datasets()}[name]["ready"]
    assert not list((tmp_path / "cache").glob(".task-*"))  # no temporary folder left
    before = (folder / A.META_FILE).stat().st_mtime_ns
    D.build_task(name, 32)  # reused, not rebuilt
    assert (folder / A.META_FILE).stat().st_mtime_ns == before


def test_a_missing_theme_names_its_package(tmp_path, monkeypatch):
    monkeypatch.setenv(icons.ENV_VAR, str(tmp_path / "no-icons"))
    monkeypatch.setenv("TRANSYNTH_CACHE", str(tmp_path / "cache"))
    with pytest.raises(FileNotFoundError, match="apt-get install -y faenza-icon-theme moka-icon"):
        D.build_task("icons-faenza2moka", 64)
    with pytest.raises(FileNotFoundError, match="mate-icon-theme"):
        D.prepare(["icons-styles"])
    row = {r["name"]: r for r in D.list_datasets()}["icons-styles"]
    assert not row["ready"] and not row["installed"]
    assert (
        "[not installed: apt-get install -y mate-icon-theme faenza-icon-theme" in row["description"]
    )


def test_photo_test_crops_come_from_photos_never_used_in_training(photo_built):
    assert not set(photo_pairs.TRAIN_PHOTOS) & set(photo_pairs.TEST_PHOTOS)
    train = {photo_pairs.photo_digest(p) for p in photo_pairs.TRAIN_PHOTOS}
    assert not train & {photo_pairs.photo_digest(p) for p in photo_pairs.TEST_PHOTOS}
    for name, folder in photo_built.items():
        for split, photos in (
            ("train", photo_pairs.TRAIN_PHOTOS),
            ("test", photo_pairs.TEST_PHOTOS),
        ):
            stems = {p.stem.rsplit("-", 1)[0] for p in (folder / split).glob("*.png")}
            assert stems == set(photos), (name, split)


@pytest.mark.parametrize("name", PHOTO_TASKS)
def test_photo_task_reads_back(photo_built, name):
    task = D.build_task(name, 64)
    assert task.kind == "paired" and task.channels == (3, 3) and task.image_size == 64
    n_train = len(photo_pairs.TRAIN_PHOTOS) * photo_pairs.TRAIN_CROPS_PER_PHOTO
    n_test = len(photo_pairs.TEST_PHOTOS) * photo_pairs.TEST_CROPS_PER_PHOTO
    assert task.train.index_sizes == (n_train,) and task.test.index_sizes == (n_test,)
    assert f"{n_train}/{n_test} train/test crops" in task.description
    ab = _read(next((photo_built[name] / "test").glob("*.png")))
    a, b = ab[:, :64], ab[:, 64:]
    if name == "photo-edges2color":
        assert set(np.unique(a)) <= {0, 255}  # edges drawn black on white
    else:
        assert (a[..., 0] == a[..., 1]).all() and (a[..., 1] == a[..., 2]).all()
        assert (a[..., 0] == np.asarray(Image.fromarray(b).convert("L"))).all()


def test_photo_crops_are_deterministic_and_not_flat():
    a, b = photo_pairs.crops("astronaut", 20, 64), photo_pairs.crops("astronaut", 20, 64)
    assert (a == b).all()
    gray = photo_pairs.gray_of(a)[..., 0].astype(float)
    assert (gray.reshape(20, -1).std(axis=1) > 4).all()
