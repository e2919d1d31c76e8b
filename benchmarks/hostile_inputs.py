"""Malformed and hostile inputs through the command line, as a new user would meet them.

Usage:
    OMP_NUM_THREADS=1 python benchmarks/hostile_inputs.py [--out DIR]

Each case writes a bad file, folder or argument and runs one `transynth` command in this
process. A case passes when the command exits 2, its message names the offending file or value,
and no code ran (the pickle case plants a payload that would create a file). Prints one line per
case and the count; exits 1 if any case fails.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import pickle
import struct
import sys
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from transynth.cli import main as cli_main

TINY = ["--data.image_size", "16", "--model.ngf", "4", "--model.ndf", "4"]
TINY += ["--model.n_blocks", "1", "--model.d_layers", "1", "--train.progress", "false"]
TINY += ["--train.evaluate", "false", "--train.tensorboard", "false"]


class Payload:
    """Unpickling this runs code: it would create the file MARKER."""

    marker = ""

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def png(path: Path, size=(8, 8), color=(200, 30, 30)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)
    return path


def png_bomb(path: Path, side: int = 60_000) -> Path:
    """A valid small PNG whose header claims side x side pixels (3.6 gigapixels)."""
    raw = bytearray(png(path).read_bytes())
    ihdr = bytearray(raw[12:29])  # b"IHDR" + 13 bytes of data
    ihdr[4:12] = struct.pack(">II", side, side)
    raw[12:29] = ihdr
    raw[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)))
    path.write_bytes(bytes(raw))
    return path


def cases(tmp: Path, run: Path) -> list[tuple[str, Callable[[], list[str]], str]]:
    """(kind, set-up returning the argv, text the message must contain)."""
    out = str(tmp / "out")

    def translate(path: Path) -> list[str]:
        return ["translate", str(run), str(path), "--out", out]

    def train_on(folder: Path, *extra: str) -> list[str]:
        return ["train", "cyclegan", "--data", str(folder), "--steps", "1", *TINY, *extra]

    def attr_folder(name: str, table: bytes, partition: bytes | None = None) -> Path:
        folder = tmp / name
        png(folder / "a.png"), png(folder / "b.png")
        (folder / "attributes.csv").write_bytes(table)
        if partition is not None:
            (folder / "list_eval_partition.txt").write_bytes(partition)
        return folder

    def pickled() -> list[str]:
        Payload.marker = str(tmp / "code-ran")
        path = tmp / "evil.safetensors"
        path.write_bytes(pickle.dumps(Payload()))
        return ["translate", str(path), str(png(tmp / "in.png")), "--out", out]

    def odd_aligned() -> Path:
        png(tmp / "odd" / "train" / "x.png", size=(33, 16))
        return tmp / "odd"

    def folder_of(name: str, files: dict[str, bytes]) -> Path:
        for rel, data in files.items():
            (tmp / name / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name / rel).write_bytes(data)
        (tmp / name).mkdir(exist_ok=True)
        return tmp / name

    good = png(tmp / "good.png").read_bytes()
    header = json.dumps({"__metadata__": {"format": "other"}}).encode()
    wrong_format = struct.pack("<Q", len(header)) + header
    return [
        ("zero-byte image", lambda: translate(folder_of("z", {"z.png": b""}) / "z.png"), "z.png"),
        (
            "truncated image",
            lambda: translate(folder_of("t", {"t.png": good[:40]}) / "t.png"),
            "t.png",
        ),
        (
            "text named .png",
            lambda: translate(folder_of("x", {"x.png": b"hello"}) / "x.png"),
            "x.png",
        ),
        ("3.6-gigapixel PNG bomb", lambda: translate(png_bomb(tmp / "bomb.png")), "bomb.png"),
        ("input that does not exist", lambda: translate(tmp / "nope.png"), "nope.png"),
        ("folder without images", lambda: translate(folder_of("noimg", {"a.txt": b"x"})), "noimg"),
        ("odd-width A|B aligned image", lambda: train_on(odd_aligned()), "x.png"),
        ("empty data folder", lambda: train_on(folder_of("empty", {})), "empty"),
        (
            "images directly in the folder",
            lambda: train_on(folder_of("flat", {"a.png": good})),
            "flat",
        ),
        (
            "unaligned folder with empty trainB",
            lambda: train_on(folder_of("ua", {"trainA/a.png": good, "trainB/.keep": b""})),
            "trainB",
        ),
        (
            "table naming missing files",
            lambda: train_on(attr_folder("tm", b"file,Smiling\na.png,1\nc.png,0\n")),
            "c.png",
        ),
        (
            "table with a bad value",
            lambda: train_on(attr_folder("tv", b"file,Smiling\na.png,yes\nb.png,0\n")),
            "attributes.csv",
        ),
        (
            "table that is not UTF-8",
            lambda: train_on(attr_folder("tu", b"file,Smiling\n\xff\xfe,1\n")),
            "attributes.csv",
        ),
        (
            "table without attributes",
            lambda: train_on(attr_folder("tn", b"file\na.png\nb.png\n")),
            "attributes.csv",
        ),
        (
            "partition file with a bad line",
            lambda: train_on(attr_folder("tp", b"file,Smiling\na.png,1\nb.png,0\n", b"a.png x\n")),
            "list_eval_partition.txt",
        ),
        ("unknown method", lambda: ["train", "nosuchgan", "--steps", "1"], "nosuchgan"),
        (
            "unknown dataset",
            lambda: ["train", "cyclegan", "--data", "nosuchdata", *TINY],
            "nosuchdata",
        ),
        (
            "unknown config key",
            lambda: ["train", "cyclegan", "--model.nosuchkey=1", *TINY],
            "nosuchkey",
        ),
        (
            "config value of the wrong type",
            lambda: ["train", "cyclegan", "--train.batch_size=two", *TINY],
            "batch_size",
        ),
        ("pickle that would run code", pickled, "evil.safetensors"),
        (
            "corrupt safetensors header",
            lambda: [
                "translate",
                str(folder_of("cs", {"c.safetensors": b"\xff" * 64}) / "c.safetensors"),
                str(tmp / "good.png"),
                "--out",
                out,
            ],
            "c.safetensors",
        ),
        (
            "safetensors of another program",
            lambda: [
                "translate",
                str(folder_of("of", {"o.safetensors": wrong_format}) / "o.safetensors"),
                str(tmp / "good.png"),
                "--out",
                out,
            ],
            "o.safetensors",
        ),
        (
            "run folder without weights",
            lambda: [
                "translate",
                str(folder_of("nw", {"config.yaml": b"{}"})),
                str(tmp / "good.png"),
                "--out",
                out,
            ],
            "nw",
        ),
        (
            "--set without =",
            lambda: [
                "translate",
                str(run),
                str(tmp / "good.png"),
                "--out",
                out,
                "--set",
                "Smiling",
            ],
            "Smiling",
        ),
        ("sample --n 0", lambda: ["sample", str(run), "--n", "0", "--out", out], "--n 0"),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="scratch folder (default: a temporary one)")
    tmp = Path(parser.parse_args().out or tempfile.mkdtemp(prefix="hostile-"))
    run = tmp / "run"
    argv = ["train", "cyclegan", "--data", "mnist2uci", "--steps", "1", "--out", str(run), *TINY]
    assert cli_main(argv) == 0, "the tiny run to translate with did not train"
    failures = 0
    table = cases(tmp, run)
    for kind, setup, must_name in table:
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            try:
                code = cli_main(setup())
            except SystemExit as exit_:  # argparse errors
                code = exit_.code
        message = err.getvalue().strip().splitlines()[-1] if err.getvalue().strip() else ""
        ok = code == 2 and must_name in message and not (tmp / "code-ran").exists()
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {kind}: exit {code}; {message[:160]}")
    print(f"{len(table) - failures}/{len(table)} kinds of bad input refused with exit 2, naming it")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
