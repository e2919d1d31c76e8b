"""Run folders and images shared by the tests of `transynth serve`."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
from conftest import tiny_trainer
from PIL import Image

METRICS = {"AtoB/translation_accuracy": 0.75, "AtoB/fid": 12.5, "AtoB/num_images": 8.0}
_SHARED: dict[str, Path] = {}


def shared_runs_dir(tmp_path_factory) -> Path:
    """One `make_runs_dir` for the whole test session (the tests only read it)."""
    if "runs" not in _SHARED:
        _SHARED["runs"] = make_runs_dir(tmp_path_factory.mktemp("serve"))
    return _SHARED["runs"]


def make_runs_dir(root: Path) -> Path:
    """RUNS_DIR with a translator (cyclegan, with metrics.json) in a sub-folder and a generator
    from noise (infogan)."""
    runs = root / "runs"
    tiny_trainer("cyclegan", runs / "digits" / "cyclegan", steps=1).fit()
    tiny_trainer("infogan", runs / "infogan", steps=1).fit()
    (runs / "digits" / "cyclegan" / "metrics.json").write_text(
        json.dumps({"step": 1, "metrics": METRICS})
    )
    return runs


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def photo(width: int = 40, height: int = 30, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8))


def real_bomb(side: int = 4000) -> bytes:
    """A genuine decompression bomb: side x side black pixels in a few kilobytes."""
    return png_bytes(Image.new("L", (side, side)))


def claimed_bomb(side: int = 100_000) -> bytes:
    """A PNG whose header claims side x side pixels, with almost no data behind it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )
