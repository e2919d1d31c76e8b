"""Tiled against whole-image translation, and the time and memory of a very large image.

    python benchmarks/tiling.py compare RUN [--size 1024] [--tile 256 --overlap 32]
    python benchmarks/tiling.py big RUN [--size 8000] [--tile 512 --overlap 32]
    python benchmarks/tiling.py big RUN --size 2048 --whole

`compare` translates scikit-image's astronaut photo (resized to SIZE x SIZE) whole and in tiles,
and prints the max/mean absolute difference (8-bit levels) and the PSNR of the tiled output
against the whole-image one: blended with whole-image norm statistics (the default), blended with
each tile's own statistics, and without overlap. `big` translates a SIZE x SIZE
image in tiles (with --whole: in one piece) and prints the wall time and the peak resident
memory of the process (before and after), for docs/SERVING.md.
"""

from __future__ import annotations

import argparse
import math
import resource
import time

import numpy as np
from PIL import Image

import transynth
from transynth.inference import translate_tiled


def astronaut(size: int) -> Image.Image:
    from skimage import data

    return Image.fromarray(data.astronaut()).resize((size, size), Image.Resampling.BICUBIC)


def differences(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    d = np.abs(a.astype(np.float64) - b.astype(np.float64))
    mse = float((d**2).mean())
    psnr = math.inf if mse == 0 else 10 * math.log10(255**2 / mse)
    return {"max": float(d.max()), "mean": float(d.mean()), "psnr_db": psnr}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def compare(args: argparse.Namespace) -> None:
    model = transynth.load(args.run)
    image = astronaut(args.size)
    whole = np.asarray(model.translate(image, native=True))  # full resolution: what tiles bound
    print(f"{model.name} {args.run}: {args.size} x {args.size}, whole image vs tiles")
    settings = ((args.overlap, "image"), (args.overlap, "tile"), (0, "image"))
    for overlap, statistics in settings:
        started = time.perf_counter()
        tiled = translate_tiled(
            model, image, tile=args.tile, overlap=overlap, statistics=statistics, native=True
        )
        d = differences(np.asarray(tiled), whole)
        print(
            f"  tile {args.tile} overlap {overlap} statistics {statistics}: max {d['max']:.0f},"
            f" mean {d['mean']:.2f} levels, PSNR {d['psnr_db']:.1f} dB"
            f" ({time.perf_counter() - started:.1f} s)"
        )


def big(args: argparse.Namespace) -> None:
    model = transynth.load(args.run)
    image = astronaut(args.size)  # uint8 RGB, made without a larger temporary
    before = peak_rss_mb()
    started = time.perf_counter()
    if args.whole:
        result, how = model.translate(image, native=True), "whole"
    else:
        result = translate_tiled(model, image, tile=args.tile, overlap=args.overlap, native=True)
        how = f"in tiles of {args.tile} (overlap {args.overlap})"
    seconds = time.perf_counter() - started
    print(
        f"{model.name} {args.run}: {args.size} x {args.size} {how}: {seconds:.0f} s; "
        f"peak RSS {before:.0f} MB before, "
        f"{peak_rss_mb():.0f} MB after; output {result.size} {result.mode}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=("compare", "big"))
    parser.add_argument("run")
    parser.add_argument("--size", type=int)
    parser.add_argument("--tile", type=int, default=None)
    parser.add_argument("--overlap", type=int, default=32)
    parser.add_argument("--whole", action="store_true", help="big: translate in one piece")
    args = parser.parse_args()
    if args.mode == "compare":
        args.size, args.tile = args.size or 1024, args.tile or 256
        compare(args)
    else:
        args.size, args.tile = args.size or 8000, args.tile or 512
        big(args)


if __name__ == "__main__":
    main()
