"""Fuzzed loaders: image files and attribute tables built from random and mutated bytes.

The promise under test (data/imageio.py, data/folders.py): a file either loads, or the loader
raises ValueError naming the file (or its folder/table); nothing else escapes, nothing hangs.
The default suite runs a fixed small budget; ``-m slow`` runs a longer one. The counts per run
are in docs/RELIABILITY.md.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image

from transynth.data.datasets import _FolderReader
from transynth.data.folders import CELEBA_PARTITION, CELEBA_TABLE, build_folder_task
from transynth.data.imageio import image_size_of

FAST = settings(
    max_examples=200,
    deadline=None,
    database=None,
    derandomize=True,  # a fixed budget: the same cases on every run of the default suite
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
LONG = settings(FAST, max_examples=5000, derandomize=False)


def _encoded(fmt: str, mode: str, size: tuple[int, int] = (9, 7), **save) -> bytes:
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 255, (size[1], size[0], 4), dtype=np.uint8)
    img = Image.fromarray(arr, "RGBA").convert(mode)
    buf = io.BytesIO()
    img.save(buf, fmt, **save)
    return buf.getvalue()


# Valid files to mutate: each format's common modes (16-bit, palette, transparency, CMYK).
SEEDS = [
    _encoded("PNG", "RGB"),
    _encoded("PNG", "RGBA"),
    _encoded("PNG", "P"),
    _encoded("PNG", "I;16"),
    _encoded("PNG", "1"),
    _encoded("JPEG", "RGB"),
    _encoded("JPEG", "L"),
    _encoded("JPEG", "CMYK"),
    _encoded("BMP", "RGB"),
    _encoded("GIF", "P"),
    _encoded("TIFF", "RGB"),
    _encoded("TIFF", "F"),
    _encoded("PPM", "RGB"),
    _encoded("WEBP", "RGB"),
]
SUFFIXES = [".png", ".jpg", ".bmp", ".gif", ".tif", ".ppm", ".webp"]

mutation = st.tuples(
    st.sampled_from(["flip", "truncate", "insert", "overwrite"]),
    st.integers(0, 4096),
    st.binary(min_size=1, max_size=16),
)
image_bytes = st.one_of(
    st.binary(max_size=512),
    st.tuples(st.sampled_from(SEEDS), st.lists(mutation, min_size=1, max_size=4)),
)


def _mutate(seed: bytes, mutations: list) -> bytes:
    data = bytearray(seed)
    for op, pos, blob in mutations:
        pos = pos % (len(data) + 1)
        if op == "flip" and data:
            data[pos % len(data)] ^= blob[0] or 1
        elif op == "truncate":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = blob
        else:
            data[pos : pos + len(blob)] = blob
    return bytes(data)


@pytest.fixture(scope="module")
def scratch():
    folder = Path(tempfile.mkdtemp(prefix="fuzz-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _check_image(folder: Path, case, suffix: str, channels: int, train: bool) -> None:
    data = case if isinstance(case, bytes) else _mutate(*case)
    path = folder / f"case{suffix}"
    path.write_bytes(data)
    reader = _FolderReader(16, channels, train, seed=0)
    try:
        image_size_of(path)
        tensor = reader.read(path)
    except ValueError as err:
        assert str(path) in str(err), f"the error does not name the file: {err}"
        event("refused, naming the file")
        return
    event("loaded")
    assert tensor.shape == (channels, 16, 16) and tensor.dtype == torch.float32
    assert torch.isfinite(tensor).all() and tensor.abs().max() <= 1


def _image_test(budget: settings):
    @budget
    @given(
        case=image_bytes,
        suffix=st.sampled_from(SUFFIXES),
        channels=st.sampled_from([1, 3]),
        train=st.booleans(),
    )
    def check(scratch, case, suffix, channels, train):
        _check_image(scratch, case, suffix, channels, train)

    return check


test_fuzzed_image_files_load_or_fail_naming_the_file = _image_test(FAST)
test_fuzzed_image_files_long = pytest.mark.slow(_image_test(LONG))

# ---- attribute tables ----------------------------------------------------------------------
FILES = ["a.png", "b.png", "sub/c.png", "d.png"]
good_cell = st.sampled_from(["0", "1", "-1"])
odd_cell = st.one_of(
    st.sampled_from(["", " ", "nan", "inf", "1e309", "0x1", "yes", "1,0", "\x00"]),
    st.text(max_size=6),
)
good_name = st.sampled_from(FILES)
odd_name = st.one_of(st.sampled_from(["missing.png", "../a.png", "A.PNG", "sub\\c.png"]), st.text())


@st.composite
def table_text(draw) -> tuple[str, str, list[str], list[tuple[str, list[str]]], str]:
    """A table that is mostly well formed, with a few odd cells, names and row lengths."""
    kind = draw(st.sampled_from(["csv", "celeba"]))
    n = draw(st.sampled_from([1, 2, 3, 4, 0]))
    attr = st.one_of(st.sampled_from(["Smiling", "Male", "Young"]), st.text(max_size=8))
    names = draw(st.lists(attr, min_size=n, max_size=n))
    glitch = draw(st.sampled_from([0.0, 0.0, 0.02, 0.1, 0.4]))  # how often a cell is odd

    def pick(good, odd):
        return draw(odd) if draw(st.floats(0, 1)) < glitch else draw(good)

    rows = []
    for _ in range(draw(st.sampled_from([4, 1, 2, 6, 0]))):
        width = pick(st.just(n), st.integers(0, n + 2))
        rows.append((pick(good_name, odd_name), [pick(good_cell, odd_cell) for _ in range(width)]))
    sep = draw(st.sampled_from([",", ", ", ";"] if kind == "csv" else [" ", "  ", "\t"]))
    file_col = draw(st.sampled_from(["file", "image_id", "", "name"]))
    return kind, file_col, names, rows, sep


table_case = st.one_of(
    table_text(), st.tuples(st.sampled_from(["csv", "celeba"]), st.binary(max_size=300))
)
partition = st.one_of(
    st.none(),
    st.none(),
    st.lists(st.tuples(st.sampled_from([*FILES, "x"]), st.sampled_from(["0", "1", "2", "z"]))),
    st.binary(max_size=60),
)


def _render(case) -> tuple[str, bytes]:
    kind = case[0]
    if isinstance(case[1], bytes):
        return kind, case[1]
    _, file_col, names, rows, sep = case
    lines = [sep.join([file_col, *names]) if kind == "csv" else str(len(rows))]
    if kind == "celeba":
        lines.append(sep.join(names))
    lines += [sep.join([f, *values]) for f, values in rows]
    return kind, "\n".join(lines).encode("utf-8", "surrogatepass")


def _attribute_folder(root: Path, case, part) -> Path:
    if root.exists():
        shutil.rmtree(root)
    for name in FILES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 8), (200, 10, 10)).save(root / name)
    kind, data = _render(case)
    table = root / ("attributes.csv" if kind == "csv" else CELEBA_TABLE)
    table.write_bytes(data)
    if isinstance(part, bytes):
        (root / CELEBA_PARTITION).write_bytes(part)
    elif part is not None:
        (root / CELEBA_PARTITION).write_text("\n".join(f"{f} {s}" for f, s in part))
    return table


def _check_table(root: Path, case, part) -> None:
    table = _attribute_folder(root, case, part)
    try:
        task = build_folder_task(root, 16, layout="attributes")
    except ValueError as err:
        named = str(table) in str(err) or str(root) in str(err)
        assert named or CELEBA_PARTITION in str(err), f"names no file: {err!r}"
        event("refused, naming the file")
        return
    event("loaded")
    split = task.train if len(task.train) else task.test
    item = split[0]
    assert item["image"].shape == (3, 16, 16)
    assert item["attrs"].shape == (len(task.attribute_names),)
    assert set(item["attrs"].unique().tolist()) <= {0.0, 1.0}


def _table_test(budget: settings):
    @budget
    @given(case=table_case, part=partition)
    def check(scratch, case, part):
        _check_table(scratch / "attrs", case, part)

    return check


test_fuzzed_attribute_tables_load_or_fail_naming_the_table = _table_test(FAST)
test_fuzzed_attribute_tables_long = pytest.mark.slow(_table_test(LONG))


def test_the_seeds_themselves_load(scratch):
    """The unmutated seeds are valid files of their format (else the mutations test little)."""
    for k, seed in enumerate(SEEDS):
        path = scratch / f"seed{k}.img"
        path.write_bytes(seed)
        assert _FolderReader(16, 3, False, 0).read(path).shape == (3, 16, 16), k
    assert os.listdir(scratch)
