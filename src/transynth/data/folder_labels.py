"""File names and optional class labels of folder data.

File name keys: every folder item is known by the path of its file relative to its domain's
folder, without extension and with ``/`` separators (``testA/sub/x.png`` -> ``sub/x``). When the
labels come from class sub-folders the class folder is left out too (``trainA/cat/x.png`` ->
``x``), so the same picture has the same key in testA/ and testB/ and in every domain folder of
a domains layout, whatever class it was filed under: evaluation matches ground truth by this key.

Labels of an unaligned folder (``trainA/ trainB/ testA/ testB/``) come from either

- class sub-folders inside each of those folders (``trainA/<class>/*.png``; a folder that holds
  both images and class folders is refused, naming it), or
- a table ``labels.csv`` at the folder's root with the header ``file,label`` and one row per
  labelled file, the file given relative to the root (``trainA/x.png``, or without extension).

Files without a label get -1. Class names are shared by both sides: the sorted union of every
name used (numerically sorted when all are integers) gives the indices.
"""

from __future__ import annotations

import csv
import os
import pathlib
from collections.abc import Iterable, Sequence

from .imageio import is_image_file

#: The labels table of an unaligned folder, looked for at the folder's root.
LABELS_CSV = "labels.csv"


def file_key(path: str | os.PathLike, base: str | os.PathLike) -> str:
    """The key of `path` relative to `base`: no extension, ``/`` separators."""
    rel = os.path.relpath(os.fspath(path), os.fspath(base))
    return os.path.splitext(rel)[0].replace(os.sep, "/")


def images_in(folder: pathlib.Path, recursive: bool = False) -> list[str]:
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


def subdirs(folder: pathlib.Path) -> list[pathlib.Path]:
    """Sorted visible sub-folders of `folder` (none if it is not a folder)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def side_files(folder: pathlib.Path) -> tuple[list[str], list[str], list[str | None]]:
    """(paths, keys, class names or None) of one unaligned folder such as trainA/.

    Images directly inside and class sub-folders holding images together are refused. With
    class folders the files are ordered by key (then path), whatever folder they are in.
    """
    flat = images_in(folder)
    classes = {d.name: f for d in subdirs(folder) if (f := images_in(d, recursive=True))}
    if flat and classes:
        raise ValueError(
            f"folder {folder} mixes {len(flat)} image(s) directly inside (e.g. "
            f"{os.path.basename(flat[0])}) with class sub-folders ({', '.join(sorted(classes))}): "
            "put every image in a class folder (the labels), or none in sub-folders"
        )
    if not classes:
        return flat, [file_key(p, folder) for p in flat], [None] * len(flat)
    # Ordered by file key, not by class: the order of a side's images (and so the batches the
    # trainer draws) must not depend on its labels, which a method may be forbidden to read
    # (the target's training labels of a domain-adaptation method).
    items = sorted((file_key(p, folder / name), p, name) for name in classes for p in classes[name])
    return [p for _, p, _ in items], [k for k, _, _ in items], [n for _, _, n in items]


def read_labels_csv(root: pathlib.Path) -> dict[str, str] | None:
    """{file relative to root (as written: with or without extension): label} of
    ``root/labels.csv``, or None without one."""
    table = root / LABELS_CSV
    if not table.is_file():
        return None
    try:
        with open(table, newline="") as f:
            rows = [[x.strip() for x in r] for r in csv.reader(f) if any(x.strip() for x in r)]
    except (UnicodeDecodeError, csv.Error) as e:
        raise ValueError(f"labels table {table} is not a UTF-8 CSV table: {e}") from None
    if not rows or [x.lower() for x in rows[0][:2]] != ["file", "label"] or len(rows[0]) != 2:
        raise ValueError(f"labels table {table} needs the header 'file,label', got {rows[:1]}")
    out: dict[str, str] = {}
    for k, r in enumerate(rows[1:], 1):
        if len(r) != 2 or not r[0] or not r[1]:
            raise ValueError(f"labels table {table}, data row {k}: expected FILE,LABEL, got {r}")
        rel = r[0].replace("\\", "/").lstrip("./")
        out[rel] = r[1]
    return out


def csv_labels(root: pathlib.Path, table: dict[str, str], paths: Sequence[str]) -> list[str | None]:
    """The label of each of `paths` in a labels table (None where the table has none)."""
    out = []
    for p in paths:
        rel = os.path.relpath(p, root).replace(os.sep, "/")
        out.append(table.get(rel, table.get(os.path.splitext(rel)[0])))
    return out


def check_table_files(root: pathlib.Path, table: dict[str, str], paths: Iterable[str]) -> None:
    """Refuse a labels table that names files the folder does not hold."""
    known: set[str] = set()
    for p in paths:
        rel = os.path.relpath(p, root).replace(os.sep, "/")
        known |= {rel, os.path.splitext(rel)[0]}
    missing = sorted(k for k in table if k not in known)
    if missing:
        raise ValueError(
            f"labels table {root / LABELS_CSV} names {len(missing)} file(s) not in trainA/, "
            f"trainB/, testA/ or testB/, e.g. {', '.join(missing[:5])}"
        )


def class_names(labels: Iterable[str | None]) -> tuple[str, ...]:
    """Sorted distinct class names (numerically when every name is an integer)."""
    names = {x for x in labels if x is not None}
    if names and all(n.lstrip("-").isdigit() for n in names):
        return tuple(sorted(names, key=int))
    return tuple(sorted(names))


def label_indices(labels: Sequence[str | None], names: Sequence[str]) -> list[int]:
    """Indices of `labels` in `names`, -1 where None."""
    index = {n: i for i, n in enumerate(names)}
    return [-1 if x is None else index[x] for x in labels]
