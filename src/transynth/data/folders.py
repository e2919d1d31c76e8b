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

from .datasets import (
    FolderAttributesDataset,
    FolderImagesDataset,
    FolderPairedDataset,
    FolderUnpairedDataset,
    info,
)
from .embedded.common import stratified_split
from .imageio import image_size_of, is_image_file
from .types import TaskData

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
FILE_COLUMNS = ("file", "filename", "file_name", "image", "image_id", "img", "path", "name", "id")


def _images_in(folder: pathlib.Path, recursive: bool = False) -> list[str]:
    """Sorted image files in `folder` (recursively if asked); hidden files and dirs skipped."""
    if not folder.is_dir():
        return []
    if not recursive:
        return sorted(str(p) for p in folder.iterdir() if p.is_file() and is_image_file(p))
    out = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        out.extend(os.path.join(dirpath, f) for f in sorted(filenames) if is_image_file(f))
    return out


def _subdirs(folder: pathlib.Path) -> list[pathlib.Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


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
        FolderPairedDataset(train, size, c, True, seed),
        FolderPairedDataset(test, size, c, False, seed),
        f"aligned (pix2pix) folder {root}: {len(train)} train / {len(test)} test pairs; {note}",
    )


def _unaligned(root: pathlib.Path, size: int, c: int, seed: int, layout: str) -> TaskData:
    tr_a, tr_b = _images_in(root / "trainA"), _images_in(root / "trainB")
    for d, files in (("trainA", tr_a), ("trainB", tr_b)):
        if not files:
            raise _no_images(root / d, f"unaligned layout: no images in {d}/")
    te_a, te_b = _images_in(root / "testA"), _images_in(root / "testB")
    if te_a and te_b:
        note = f"{len(te_a)}/{len(te_b)} test images"
    else:
        missing = [d for d, f in (("testA", te_a), ("testB", te_b)) if not f]
        note = f"no test split ({' and '.join(missing)} missing or empty)"
        te_a, te_b = [], []
    _check_headers(tr_a + tr_b + te_a + te_b)
    return TaskData(
        root.name,
        "unpaired",
        (info("A", c), info("B", c)),
        size,
        FolderUnpairedDataset(tr_a, tr_b, size, c, True, seed),
        FolderUnpairedDataset(te_a, te_b, size, c, False, seed),
        f"unaligned (CycleGAN) folder {root}: {len(tr_a)}/{len(tr_b)} train images; {note}",
    )


def _class_files(folder: pathlib.Path) -> dict[str, list[str]]:
    return {d.name: f for d in _subdirs(folder) if (f := _images_in(d, recursive=True))}


def _classes(root: pathlib.Path, size: int, c: int, seed: int, layout: str) -> TaskData:
    kind = "classes" if layout == "classes" else "domains"
    train_dir = root / "train"
    if train_dir.is_dir() and _class_files(train_dir):
        train_files, test_files = _class_files(train_dir), _class_files(root / "test")
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
        paths = [p for n in names for p in files[n]]
        targets = np.array([i for i, n in enumerate(names) for _ in files[n]])
        tr, te = stratified_split(targets, HOLDOUT_FRACTION, seed)
        tr_p, tr_t = [paths[i] for i in tr], targets[tr].tolist()
        te_p, te_t = [paths[i] for i in te], targets[te].tolist()
        note = f"seeded 90/10 split per folder (seed {seed})"
    _check_headers(tr_p + te_p)
    if kind == "classes":
        domains = (info(root.name, c, names),)
        dnames: tuple[str, ...] = (root.name,)
    else:
        domains = tuple(info(n, c) for n in names)
        dnames = tuple(names)
    return TaskData(
        root.name,
        kind,
        domains,
        size,
        FolderImagesDataset(tr_p, tr_t, kind, dnames, size, c, True, seed),
        FolderImagesDataset(te_p, te_t, kind, dnames, size, c, False, seed),
        f"{kind} folder {root}: {len(names)} {kind}, {len(tr_p)} train / {len(te_p)} test "
        f"images; {note}",
    )


def _read_table(table: pathlib.Path) -> tuple[list[str], list[str], np.ndarray]:
    """(attribute names, file names, 0/1 values) of a CelebA .txt or a CSV table."""
    try:
        return _parse_table(table)
    except (UnicodeDecodeError, csv.Error) as e:  # found by tests/test_fuzz_loaders.py
        raise ValueError(f"attribute table {table} is not a UTF-8 text table: {e}") from None


def _parse_table(table: pathlib.Path) -> tuple[list[str], list[str], np.ndarray]:
    rows: list[list[str]]
    if table.suffix.lower() == ".csv":
        with open(table, newline="") as f:
            rows = [r for r in csv.reader(f) if r and any(x.strip() for x in r)]
        if not rows:
            raise ValueError(f"attribute table {table} is empty")
        names = [x.strip() for x in rows[0][1:]]
        body = rows[1:]
    else:
        lines = [ln.split() for ln in table.read_text().splitlines() if ln.strip()]
        if len(lines) < 2:
            raise ValueError(f"attribute table {table} needs a count line and a names line")
        names, body = lines[1], lines[2:]
        if body and len(body[0]) == len(names) and names[0].lower() in FILE_COLUMNS:
            names = names[1:]  # a names line that starts with a file-column header
    if not names:  # found by tests/test_fuzz_loaders.py
        raise ValueError(f"attribute table {table} names no attributes after its file column")
    files, values = [], []
    for k, r in enumerate(body):
        r = [x.strip() for x in r]
        if len(r) != len(names) + 1:
            raise ValueError(
                f"attribute table {table}, data row {k + 1}: expected a file name and "
                f"{len(names)} values, got {len(r)} fields"
            )
        try:
            values.append([float(x) > 0 for x in r[1:]])
        except ValueError as e:
            raise ValueError(f"attribute table {table}, data row {k + 1}: {e}") from None
        files.append(r[0])
    if not files:
        raise ValueError(f"attribute table {table} lists no images")
    return names, files, np.asarray(values, dtype=np.float32).reshape(len(files), len(names))


def _attributes(root: pathlib.Path, size: int, c: int, seed: int, layout: str) -> TaskData:
    table = _find_table(root, strict=False)
    if table is None:
        raise ValueError(
            f"attributes layout: no {CELEBA_TABLE} or *.csv table in {root}; {LAYOUT_HELP}"
        )
    names, files, values = _read_table(table)
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
        split = _read_partition(part)
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


def _read_partition(part: pathlib.Path) -> dict[str, int]:
    """{file name: 0 train, 1 val, 2 test} of a CelebA list_eval_partition.txt."""
    try:
        lines = part.read_text().splitlines()
    except UnicodeDecodeError as e:  # found by tests/test_fuzz_loaders.py
        raise ValueError(f"partition file {part} is not UTF-8 text: {e}") from None
    split = {}
    for number, ln in enumerate(lines, 1):
        bits = ln.split()
        if len(bits) != 2:
            continue
        try:
            split[os.path.basename(bits[0])] = int(bits[1])
        except ValueError:
            raise ValueError(
                f"partition file {part}, line {number}: expected FILE and 0, 1 or 2, got {ln!r}"
            ) from None
    return split
