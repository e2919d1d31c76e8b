"""User folders in the standard layouts (pix2pix, CycleGAN, ImageFolder, CelebA/CSV tables).

Layouts (detected in this order, or forced with ``layout=``):

- unaligned: ``trainA/ trainB/ [testA/ testB/]`` (CycleGAN); kind "unpaired".
- attributes: images plus ``list_attr_celeba.txt`` (CelebA, values 1/-1) or one ``*.csv`` table
  ``file,attr1,attr2,...`` (values 0/1); optional ``list_eval_partition.txt``; kind "attributes".
- aligned: ``train/ [test/ or val/]`` holding A|B side-by-side images (pix2pix); kind "paired".
- classes: a folder per label, optionally under ``train/`` and ``test/``; kind "classes".
  ``layout="domains"`` reads the same structure as one folder per domain; kind "domains".
"""

from __future__ import annotations

import csv
import os
import pathlib

import numpy as np

from .attribute_tables import FILE_COLUMNS, read_partition, read_table
from .datasets import (
    FolderAttributesDataset,
    FolderImagesDataset,
    FolderPairedDataset,
    FolderUnpairedDataset,
    info,
)
from .embedded.common import stratified_split
from .folder_labels import (
    LABELS_CSV,
    check_table_files,
    class_names,
    csv_labels,
    file_key,
    images_in,
    label_indices,
    read_labels_csv,
    side_files,
    subdirs,
)
from .imageio import image_size_of
from .types import DomainInfo, TaskData

LAYOUTS = ("aligned", "unaligned", "classes", "domains", "attributes")
LAYOUT_HELP = (
    "accepted layouts: aligned (train/, test/ with A|B side-by-side images), "
    "unaligned (trainA/, trainB/, optional testA/, testB/), "
    "classes (a folder per label, optionally under train/ and test/), "
    "domains (a folder per domain, same structure as classes), "
    "attributes (images + list_attr_celeba.txt or a CSV table file,attr1,attr2,...)"
)
CELEBA_TABLE = "list_attr_celeba.txt"
CELEBA_PARTITION = "list_eval_partition.txt"
HOLDOUT_FRACTION = 0.1  # test share when a folder has no split of its own


_images_in, _subdirs = images_in, subdirs


def _no_images(root: pathlib.Path, why: str = "no images found") -> ValueError:
    return ValueError(f"{why} in folder {root}; {LAYOUT_HELP}")


def _check_headers(paths: list[str]) -> None:
    """Open every file's header so an unreadable file fails now, naming it (not mid-training)."""
    for p in paths:
        image_size_of(p)


def _csv_file_column(path: pathlib.Path) -> bool:
    """Whether a CSV's first header field names a file column (file, filename, image, ...)."""
    try:
        # errors="replace": a table that is not UTF-8 is still found, then refused by name
        with open(path, newline="", errors="replace") as f:
            head = next(csv.reader(f), [])
    except (OSError, UnicodeDecodeError):
        return False
    return bool(head) and head[0].strip().lower() in FILE_COLUMNS


def _find_table(root: pathlib.Path, strict: bool = True) -> pathlib.Path | None:
    """The attribute table of a folder: list_attr_celeba.txt (here or one level down) or a CSV.

    With `strict` (auto-detection) a CSV counts only if its first column is a file column.
    """
    for cand in [root / CELEBA_TABLE, *(d / CELEBA_TABLE for d in _subdirs(root))]:
        if cand.is_file():
            return cand
    csvs = sorted(p for p in root.glob("*.csv") if p.is_file())
    if strict:
        csvs = [p for p in csvs if _csv_file_column(p)]
    if len(csvs) > 1:
        preferred = [p for p in csvs if p.stem.lower() in ("attributes", "attrs", "labels")]
        if len(preferred) != 1:
            raise ValueError(
                f"folder {root} holds several CSV files ({', '.join(p.name for p in csvs)}); "
                "keep one attribute table, or name it attributes.csv"
            )
        csvs = preferred
    return csvs[0] if csvs else None


def detect_layout(root: str | os.PathLike) -> str:
    """The layout of a folder (see the module docstring); ValueError if none fits."""
    root = pathlib.Path(root)
    if not root.is_dir():
        raise ValueError(f"{root} is not a folder; {LAYOUT_HELP}")
    if (root / "trainA").is_dir() or (root / "trainB").is_dir():
        return "unaligned"
    if _find_table(root) is not None:
        return "attributes"
    train = root / "train"
    if train.is_dir():
        if _images_in(train):
            return "aligned"
        if any(_images_in(d, recursive=True) for d in _subdirs(train)):
            return "classes"
        raise _no_images(train, "no images (nor class folders with images) found")
    if any(_images_in(d, recursive=True) for d in _subdirs(root)):
        return "classes"
    if _images_in(root):
        raise _no_images(root, "images lie directly in the folder, which matches no layout")
    raise _no_images(root)


def build_folder_task(
    root: str | os.PathLike,
    image_size: int,
    *,
    layout: str | None = None,
    seed: int = 0,
    channels: int | None = None,
) -> TaskData:
    """TaskData for a user folder; files are listed (and headers checked) now, decoded per item."""
    root = pathlib.Path(root).expanduser()
    if not root.is_dir():
        raise ValueError(f"{root} is not a folder; {LAYOUT_HELP}")
    if layout is None:
        layout = detect_layout(root)
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; {LAYOUT_HELP}")
    c = channels or 3
    if c not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    build = {
        "aligned": _aligned,
        "unaligned": _unaligned,
        "classes": _classes,
        "domains": _classes,
        "attributes": _attributes,
    }[layout]
    return build(root, image_size, c, seed, layout)


def _aligned(root: pathlib.Path, size: int, c: int, seed: int, layout: str) -> TaskData:
    train = _images_in(root / "train")
    if not train:
        raise _no_images(
            root / "train" if (root / "train").is_dir() else root,
            "aligned layout: no A|B images in train/",
        )
    test_dir = next((root / d for d in ("test", "val") if _images_in(root / d)), None)
    test = _images_in(test_dir) if test_dir else []
    for p in train + test:
        w, _ = image_size_of(p)
        if w % 2:
            raise ValueError(
                f"aligned image {p} has odd width {w}: expected A|B side by side, two halves "
                "of equal width"
            )
    note = (
        f"test split from {test_dir.name}/"
        if test_dir
        else "no test/ or val/ folder: empty test split"
    )
    return TaskData(
        root.name,
        "paired",
        (info("A", c), info("B", c)),
        size,
        FolderPairedDataset(
            train, size, c, True, seed, [file_key(p, root / "train") for p in train]
        ),
        FolderPairedDataset(test, size, c, False, seed, [file_key(p, test_dir) for p in test]),
        f"aligned (pix2pix) folder {root}: {len(train)} train / {len(test)} test pairs; {note}",
    )


def _unaligned(root: pathlib.Path, size: int, c: int, seed: int, layout: str) -> TaskData:
    sides = {d: side_files(root / d) for d in ("trainA", "trainB", "testA", "testB")}
    for d in ("trainA", "trainB"):
        if not sides[d][0]:
            raise _no_images(root / d, f"unaligned layout: no images in {d}/")
    te_a, te_b = sides["testA"][0], sides["testB"][0]
    if te_a and te_b:
        note = f"{len(te_a)}/{len(te_b)} test images"
    else:
        missing = [d for d, f in (("testA", te_a), ("testB", te_b)) if not f]
        note = f"no test split ({' and '.join(missing)} missing or empty)"
        sides["testA"] = sides["testB"] = ([], [], [])
    every = [p for paths, _, _ in sides.values() for p in paths]
    _check_headers(every)
    table = read_labels_csv(root)
    if table is not None:
        from_folders = [d for d, (_, _, lab) in sides.items() if any(x is not None for x in lab)]
        if from_folders:
            raise ValueError(
                f"folder {root}: labels come from {LABELS_CSV} or from class sub-folders "
                f"(found in {', '.join(from_folders)}), not both"
            )
        check_table_files(root, table, every)
        sides = {d: (p, k, csv_labels(root, table, p)) for d, (p, k, _) in sides.items()}
    names = class_names(x for _, _, lab in sides.values() for x in lab)
    labels = {d: label_indices(lab, names) for d, (_, _, lab) in sides.items()}

    def domain(name: str) -> DomainInfo:
        labelled = any(v >= 0 for d in (f"train{name}", f"test{name}") for v in labels[d])
        return info(name, c, names if labelled else ())

    def split(a: str, b: str, train: bool) -> FolderUnpairedDataset:
        return FolderUnpairedDataset(
            sides[a][0],
            sides[b][0],
            size,
            c,
            train,
            seed,
            labels=(labels[a], labels[b]),
            names=(sides[a][1], sides[b][1]),
        )

    if names:
        source = LABELS_CSV if table is not None else "class sub-folders"
        note += f"; {len(names)} classes from {source}"
    n_a, n_b = len(sides["trainA"][0]), len(sides["trainB"][0])
    return TaskData(
        root.name,
        "unpaired",
        (domain("A"), domain("B")),
        size,
        split("trainA", "trainB", True),
        split("testA", "testB", False),
        f"unaligned (CycleGAN) folder {root}: {n_a}/{n_b} train images; {note}",
    )


def _class_files(folder: pathlib.Path) -> dict[str, list[str]]:
    return {d.name: f for d in _subdirs(folder) if (f := _images_in(d, recursive=True))}


def _keyed(files: dict[str, list[str]], folder: pathlib.Path) -> dict[str, str]:
    """{path: key} of class/domain folders' files, the key relative to its class folder."""
    return {p: file_key(p, folder / n) for n, ps in files.items() for p in ps}


def _holdout(
    names: list[str], files: dict[str, list[str]], keys: dict[str, str], kind: str, seed: int
) -> tuple[np.ndarray, np.ndarray, str]:
    """Seeded 90/10 split of the flat file list: by file name for a domains folder whose
    domains mostly share file names (so each picture is in the same split in every domain and
    has its ground truth there), else stratified per folder."""
    paths = [p for n in names for p in files[n]]
    targets = np.array([i for i, n in enumerate(names) for _ in files[n]])
    stems = [keys[p] for p in paths]
    counts: dict[str, int] = {}
    for k in stems:
        counts[k] = counts.get(k, 0) + 1
    if (
        kind == "domains"
        and len(counts) >= 2
        and sum(v > 1 for v in counts.values()) * 2 >= len(counts)
    ):
        order = sorted(counts)
        rng = np.random.default_rng(seed)
        n_test = min(max(1, round(len(order) * HOLDOUT_FRACTION)), len(order) - 1)
        test_names = {order[i] for i in rng.permutation(len(order))[:n_test]}
        is_test = np.array([k in test_names for k in stems], dtype=bool)
        te, tr = np.flatnonzero(is_test), np.flatnonzero(~is_test)
        return tr, te, f"seeded 90/10 split by file name (seed {seed}), the same in every domain"
    tr, te = stratified_split(targets, HOLDOUT_FRACTION, seed)
    return tr, te, f"seeded 90/10 split per folder (seed {seed})"


def _classes(root: pathlib.Path, size: int, c: int, seed: int, layout: str) -> TaskData:
    kind = "classes" if layout == "classes" else "domains"
    train_dir = root / "train"
    if train_dir.is_dir() and _class_files(train_dir):
        train_files, test_files = _class_files(train_dir), _class_files(root / "test")
        keys = {**_keyed(train_files, train_dir), **_keyed(test_files, root / "test")}
        names = sorted(set(train_files) | set(test_files))
        note = f"train/ and test/ folders ({len(names)} {kind})"

        def flat(files: dict[str, list[str]]) -> tuple[list[str], list[int]]:
            pairs = [(p, names.index(n)) for n in names for p in files.get(n, [])]
            return [p for p, _ in pairs], [t for _, t in pairs]

        (tr_p, tr_t), (te_p, te_t) = flat(train_files), flat(test_files)
    else:
        files = _class_files(root)
        if not files:
            raise _no_images(root, f"{kind} layout: no sub-folders with images")
        names = sorted(files)
        keys = _keyed(files, root)
        paths = [p for n in names for p in files[n]]
        targets = np.array([i for i, n in enumerate(names) for _ in files[n]])
        tr, te, note = _holdout(names, files, keys, kind, seed)
        tr_p, tr_t = [paths[i] for i in tr], targets[tr].tolist()
        te_p, te_t = [paths[i] for i in te], targets[te].tolist()
    _check_headers(tr_p + te_p)
    if kind == "classes":
        domains = (info(root.name, c, names),)
        dnames: tuple[str, ...] = (root.name,)
    else:
        domains = tuple(info(n, c) for n in names)
        dnames = tuple(names)

    def split(paths: list[str], targets: list[int], train: bool) -> FolderImagesDataset:
        names = [keys[p] for p in paths]
        return FolderImagesDataset(paths, targets, kind, dnames, size, c, train, seed, names)

    return TaskData(
        root.name,
        kind,
        domains,
        size,
        split(tr_p, tr_t, True),
        split(te_p, te_t, False),
        f"{kind} folder {root}: {len(names)} {kind}, {len(tr_p)} train / {len(te_p)} test "
        f"images; {note}",
    )


def _attributes(root: pathlib.Path, size: int, c: int, seed: int, layout: str) -> TaskData:
    table = _find_table(root, strict=False)
    if table is None:
        raise ValueError(
            f"attributes layout: no {CELEBA_TABLE} or *.csv table in {root}; {LAYOUT_HELP}"
        )
    names, files, values = read_table(table)
    all_images = _images_in(root, recursive=True)
    if not all_images:
        raise _no_images(root)
    by_rel = {os.path.relpath(p, root).replace(os.sep, "/"): p for p in all_images}
    by_base: dict[str, str] = {}
    for p in all_images:
        by_base.setdefault(os.path.basename(p), p)
    paths, missing = [], []
    for f in files:
        rel = f.replace("\\", "/")
        table_rel = os.path.relpath(table.parent / rel, root).replace(os.sep, "/")
        p = by_rel.get(table_rel) or by_rel.get(rel) or by_base.get(os.path.basename(rel))
        (paths if p else missing).append(p or f)
    if missing:
        raise ValueError(
            f"attribute table {table} names {len(missing)} missing image file(s) (of "
            f"{len(files)}), e.g. {', '.join(missing[:5])}"
        )
    _check_headers(paths)
    part = table.parent / CELEBA_PARTITION
    if part.is_file():
        split = read_partition(part)
        is_test = np.array([split.get(os.path.basename(f), 0) == 2 for f in files])
        note = f"split from {CELEBA_PARTITION} (train+val / test)"
    else:
        rng = np.random.default_rng(seed)
        n_test = max(1, int(round(len(files) * HOLDOUT_FRACTION))) if len(files) >= 2 else 0
        is_test = np.zeros(len(files), dtype=bool)
        is_test[rng.permutation(len(files))[:n_test]] = True
        note = f"seeded random 90/10 split (seed {seed})"
    tr, te = np.flatnonzero(~is_test), np.flatnonzero(is_test)
    return TaskData(
        root.name,
        "attributes",
        (info(root.name, c, names),),  # attribute names: methods see only the domains
        size,
        FolderAttributesDataset([paths[i] for i in tr], values[tr], root.name, size, c, True, seed),
        FolderAttributesDataset(
            [paths[i] for i in te], values[te], root.name, size, c, False, seed
        ),
        f"attributes folder {root}: table {table.name}, {len(names)} attributes, {len(tr)} train / "
        f"{len(te)} test images; {note}",
        attribute_names=tuple(names),
    )
