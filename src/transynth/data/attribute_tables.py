"""Parsing of the attribute tables of folder data: CelebA's ``list_attr_celeba.txt`` and
``list_eval_partition.txt``, or a CSV table ``file,attr1,attr2,...``."""

from __future__ import annotations

import csv
import os
import pathlib

import numpy as np

__all__ = ["FILE_COLUMNS", "read_partition", "read_table"]

#: Header names of a table's file column.
FILE_COLUMNS = ("file", "filename", "file_name", "image", "image_id", "img", "path", "name", "id")


def read_table(table: pathlib.Path) -> tuple[list[str], list[str], np.ndarray]:
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


def read_partition(part: pathlib.Path) -> dict[str, int]:
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
