"""Object discovery against the hand-drawn ground truth of the bundled photos.

Usage:
    OMP_NUM_THREADS=1 python benchmarks/recompose_objects_bench.py [--rounds 3] [--json OUT]

Discovers the objects of each photo at a longest side of 256 (``discover_objects`` defaults),
pairs them one-to-one with the outlines of tests/data/recompose/ground_truth.json by IoU
(Hungarian method) and reports the IoU per true object, the objects found (IoU >= 0.5) over
the objects there, and the photos with two or more objects found.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from recompose_fill_bench import PHOTOS, TRUTH, load_photo

from transynth.recompose import discover_objects
from transynth.recompose.images import downscale, to_float_rgb
from transynth.recompose.truth import load_truth, score_objects


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", default="docs/results/recompose_objects.json")
    args = ap.parse_args()
    truth = load_truth(TRUTH)
    photos = {}
    for name in PHOTOS:
        image = downscale(to_float_rgb(load_photo(name))[0], 256)
        t0 = time.process_time()
        found = discover_objects(image, rounds=args.rounds).objects
        s = score_objects([o.mask for o in found], truth[name]).summary()
        s["cpu_s"] = round(time.process_time() - t0, 2)
        photos[name] = s
        print(name, json.dumps(s), flush=True)
    summary = {
        "objects_there": sum(p["objects_there"] for p in photos.values()),
        "objects_found": sum(p["objects_found"] for p in photos.values()),
        "photos_with_2_or_more_found": sum(p["objects_found"] >= 2 for p in photos.values()),
        "photos_with_2_or_more_detections": sum(p["detections"] >= 2 for p in photos.values()),
    }
    out = {
        "command": "OMP_NUM_THREADS=1 python benchmarks/recompose_objects_bench.py"
        f" --rounds {args.rounds}",
        "summary": summary,
        "photos": photos,
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
