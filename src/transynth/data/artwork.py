"""Named real-image tasks with ground truth: icon themes drawn by different artists, and crops of
bundled photos.

Each task is materialised once into the cache (``$TRANSYNTH_CACHE``) as a folder in one of the
standard layouts of :mod:`transynth.data.folders` and then read by ``build_folder_task``, exactly
as a user's folder is, so every folder metric, preset and translate feature applies unchanged:

- paired: aligned layout, ``train/<name>.png`` and ``test/<name>.png`` holding A|B side by side;
- unpaired: unaligned layout; trainA/ and trainB/ hold DISJOINT halves of the training names
  (training is really unpaired), testA/ and testB/ the same test names (ground truth by file
  name);
- domains: ``train/<style>/<name>.png`` and ``test/<style>/<name>.png``, every name in every style.

The folder is built in a temporary folder and renamed into place (atomic), under a name that
holds the task's version (code, split and source package versions), so a changed source never
reuses a stale folder. ``task.json`` in the folder records names, counts and sources.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import pathlib
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .cache import cache_dir
from .embedded import icons, photo_pairs
from .folders import build_folder_task
from .types import TaskData

META_FILE = "task.json"
LAYOUT_OF = {"paired": "aligned", "unpaired": "unaligned", "domains": "domains"}
CODE_VERSION = "1"  # bump when the folder contents of any task change


@dataclass(frozen=True)
class ArtworkSpec:
    """One named real-image task."""

    name: str
    kind: str  # "paired", "unpaired" or "domains"
    size: int  # the images' side in px (the folder's native size)
    summary: str  # what it is (the description before it is built)
    themes: tuple[str, ...] = ()  # icon theme keys it reads (empty: bundled photos)
    photo_a: str = ""  # photo tasks: "edges" or "gray"

    @property
    def layout(self) -> str:
        return LAYOUT_OF[self.kind]


def _icon_summary(kind: str, themes: tuple[str, ...], size: int) -> str:
    labels = [icons.THEMES[k].label for k in themes]
    if kind == "domains":
        what = f"domains: the same icon names drawn in {len(themes)} styles ({', '.join(labels)})"
    else:
        what = f"{kind}: icon drawn in {labels[0]} (A) -> the same icon name in {labels[1]} (B)"
        if kind == "unpaired":
            what += "; trainA/trainB hold disjoint halves of the train names, test shares names"
    bg = ",".join(map(str, icons.BACKGROUND))
    return f"{what}; {size} px RGB on grey ({bg}), split by icon name (80/20, same in every task)"


def _photo_summary(a: str) -> str:
    what = "Canny edges (black on white)" if a == "edges" else "luminance (gray)"
    return (
        f"paired: {what} of a photo crop (A) -> the colour crop (B); 64 px; crops at several "
        f"scales of 7 bundled photos for train ({', '.join(photo_pairs.TRAIN_PHOTOS)}), test "
        f"crops only from {' and '.join(photo_pairs.TEST_PHOTOS)}"
    )


def _icon_specs() -> list[ArtworkSpec]:
    out = []
    for a, b, sizes in (("faenza", "moka", (64,)), ("elementary", "oxygen", (64, 128))):
        for size in sizes:
            sfx = "" if size == 64 else f"-{size}"
            for kind, mid in (("paired", ""), ("unpaired", "-unpaired")):
                out.append(
                    ArtworkSpec(
                        f"icons-{a}2{b}{mid}{sfx}",
                        kind,
                        size,
                        _icon_summary(kind, (a, b), size),
                        (a, b),
                    )
                )
    styles = ("mate", "faenza", "elementary", "oxygen")
    out.append(
        ArtworkSpec("icons-styles", "domains", 64, _icon_summary("domains", styles, 64), styles)
    )
    for a in ("edges", "gray"):
        out.append(ArtworkSpec(f"photo-{a}2color", "paired", 64, _photo_summary(a), photo_a=a))
    return out


ARTWORK: dict[str, ArtworkSpec] = {s.name: s for s in _icon_specs()}


def _spec(name: str) -> ArtworkSpec:
    if name not in ARTWORK:
        raise ValueError(f"unknown real-image task {name!r}; known: {', '.join(ARTWORK)}")
    return ARTWORK[name]


def artwork_unavailable(name: str) -> str | None:
    """Why the task cannot be built here (a theme is not installed, with the apt line), or None."""
    spec = _spec(name)
    missing = icons.missing_themes(spec.themes)
    if not missing:
        return None
    return f"not installed: {icons.install_hint(missing)}"


@functools.cache
def _sources_digest(icon_dir: str) -> str:
    """Short digest of the versions of every supported theme installed (they fix the splits)."""
    parts = [
        f"{k}={icons.package_version(k) if icons.theme_installed(k) else '-'}" for k in icons.THEMES
    ]
    return hashlib.sha1(";".join(parts).encode()).hexdigest()[:8]


def artwork_version(name: str) -> str:
    """The version in the task's folder name."""
    spec = _spec(name)
    if spec.themes:
        return f"{CODE_VERSION}.{icons.SPLIT_VERSION}.{_sources_digest(str(icons.icon_dir()))}"
    return f"{CODE_VERSION}.p{photo_pairs.SEED}"


def artwork_path(name: str) -> pathlib.Path:
    """Where the materialised folder of `name` lives (whether or not it exists yet)."""
    return cache_dir() / f"task-{name}-v{artwork_version(name)}"


def artwork_ready(name: str) -> bool:
    """Whether the folder of `name` is materialised in the current cache dir."""
    if artwork_unavailable(name):
        return False
    return (artwork_path(name) / META_FILE).is_file()


def artwork_meta(name: str) -> dict | None:
    """The task.json of a materialised task, or None if it is not built."""
    path = artwork_path(name) / META_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def artwork_description(name: str) -> str:
    """The task's summary, with counts and source versions once it is built."""
    spec = _spec(name)
    meta = artwork_meta(name) if not artwork_unavailable(name) else None
    if meta is None:
        return spec.summary
    return f"{spec.summary}; {meta['counts']}; sources: {meta['sources']}"


def _save(path: pathlib.Path, *images: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate(images, axis=1)).save(path, compress_level=1)


@functools.lru_cache(maxsize=4096)
def _icon(path: str, size: int) -> np.ndarray:
    out = icons.render_icon(path, size)
    out.setflags(write=False)
    return out


def _icon_names(spec: ArtworkSpec) -> dict[str, list[str]]:
    """{"train", "test"}: names drawn in every theme of `spec` at >= its size, duplicates
    (an image already used by an earlier name of the split, in any style) dropped."""
    tables = [icons.theme_icons(k) for k in spec.themes]
    names = sorted(set.intersection(*(set(t) for t in tables)))
    names = [n for n in names if all(t[n][0] >= spec.size for t in tables)]
    groups = icons.name_groups()
    out: dict[str, list[str]] = {"train": [], "test": []}
    seen: dict[str, set[bytes]] = {"train": set(), "test": set()}
    for n in names:
        split = icons.split_of(n, groups)
        keys = [hashlib.sha1(_icon(t[n][1], spec.size).tobytes()).digest() for t in tables]
        if any(k in seen[split] for k in keys) or len(set(keys)) < len(keys):
            continue
        seen[split].update(keys)
        out[split].append(n)
    return out


def _write_icons(spec: ArtworkSpec, root: pathlib.Path) -> dict:
    names = _icon_names(spec)
    tables = {k: icons.theme_icons(k) for k in spec.themes}
    img = {k: (lambda n, t=t: _icon(t[n][1], spec.size)) for k, t in tables.items()}
    a, b = spec.themes[0], spec.themes[-1]
    counts = f"{len(names['train'])}/{len(names['test'])} train/test names"
    if spec.kind == "paired":
        for split, ns in names.items():
            for n in ns:
                _save(root / split / f"{n}.png", img[a](n), img[b](n))
    elif spec.kind == "unpaired":
        train = sorted(names["train"], key=lambda n: icons.hashed_fraction(f"half:{n}"))
        half = len(train) // 2
        for d, ns in (("A", train[:half]), ("B", train[half:])):
            for n in ns:
                _save(root / f"train{d}" / f"{n}.png", img[a if d == "A" else b](n))
        for n in names["test"]:
            _save(root / "testA" / f"{n}.png", img[a](n))
            _save(root / "testB" / f"{n}.png", img[b](n))
        counts += f" (trainA {half}, trainB {len(train) - half}, disjoint)"
    else:
        for split, ns in names.items():
            for k in spec.themes:
                for n in ns:
                    _save(root / split / k / f"{n}.png", img[k](n))
    sources = ", ".join(
        f"{icons.THEMES[k].package} {icons.package_version(k) or '(version unknown)'}"
        for k in spec.themes
    )
    return {"names": names, "counts": counts, "sources": sources}


def _write_photos(spec: ArtworkSpec, root: pathlib.Path) -> dict:
    render: Callable[[np.ndarray], np.ndarray] = (
        photo_pairs.edges_of if spec.photo_a == "edges" else photo_pairs.gray_of
    )
    names: dict[str, list[str]] = {}
    for split, items in photo_pairs.split_crops(spec.size).items():
        b = np.stack([c for _, c in items])
        a = render(b)
        for (stem, _), ai, bi in zip(items, a, b, strict=True):
            _save(root / split / f"{stem}.png", ai, bi)
        names[split] = [stem for stem, _ in items]
    counts = f"{len(names['train'])}/{len(names['test'])} train/test crops"
    photos = {
        s: list(p)
        for s, p in (("train", photo_pairs.TRAIN_PHOTOS), ("test", photo_pairs.TEST_PHOTOS))
    }
    return {
        "names": names,
        "counts": counts,
        "sources": "scikit-image, scikit-learn, matplotlib sample photos",
        "photos": photos,
    }


def materialise(name: str) -> pathlib.Path:
    """The task's folder, built (once, atomically) if it is not in the cache yet.

    Raises:
        FileNotFoundError: an icon theme the task reads is not installed (names the package).
    """
    spec = _spec(name)
    why = artwork_unavailable(name)
    if why:
        raise FileNotFoundError(f"real-image task {name} needs icon themes that are {why}")
    final = artwork_path(name)
    if (final / META_FILE).is_file():
        return final
    tmp = pathlib.Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}."))
    try:
        meta = (_write_icons if spec.themes else _write_photos)(spec, tmp)
        meta.update(name=name, kind=spec.kind, size=spec.size, version=artwork_version(name))
        (tmp / META_FILE).write_text(json.dumps(meta, indent=1, sort_keys=True))
        try:
            os.rename(tmp, final)
        except OSError:
            if not (final / META_FILE).is_file():  # not a concurrent build that won the race
                shutil.rmtree(final, ignore_errors=True)
                os.rename(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def build_artwork(
    name: str, image_size: int, *, seed: int = 0, channels: int | None = None
) -> TaskData:
    """TaskData of a real-image task: its materialised folder read by ``build_folder_task``."""
    spec = _spec(name)
    task = build_folder_task(
        materialise(name), image_size, layout=spec.layout, seed=seed, channels=channels
    )
    return dataclasses.replace(task, name=name, description=artwork_description(name))
