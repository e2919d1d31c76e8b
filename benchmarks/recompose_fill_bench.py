"""Hole-filling ablation: remove known regions of the bundled photos, fill, compare with truth.

Usage:
    OMP_NUM_THREADS=1 python benchmarks/recompose_fill_bench.py [--json OUT.json]

For each of the 7 bundled photos, three holes at fixed random places (seed 0): two boxes of
10-20% of the photo's sides, and one object-shaped hole (a hand-drawn object of another photo,
from tests/data/recompose/ground_truth.json, scaled to about 20% of the photo's height). Each
hole is filled by the diffusion fill (pull-push + membrane, the fill before issue 29) and by
the exemplar patch fill as the rendering runs it (``render.patch_fill_capped``), and compared
with the removed pixels: PSNR over the hole's pixels, SSIM (scikit-image, gray, 7x7 window)
averaged over the hole's pixels, and the texture ratio: mean gradient magnitude of the fill
inside the hole over that of the true pixels (1 = as textured as the truth, near 0 = smeared).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi
from skimage.metrics import structural_similarity
from skimage.transform import resize

from transynth.recompose.fill import diffusion_fill
from transynth.recompose.images import to_float_rgb
from transynth.recompose.render import patch_fill_capped
from transynth.recompose.truth import load_truth

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "camera", "china", "flower")
TRUTH = Path(__file__).resolve().parents[1] / "tests/data/recompose/ground_truth.json"
FILLS = {"diffusion": diffusion_fill, "patch": patch_fill_capped}


def load_photo(name: str) -> np.ndarray:
    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_images

        return load_sample_images().images[("china", "flower").index(name)]
    import skimage.data

    return getattr(skimage.data, name)()


def holes(shape: tuple[int, int], shapes: list[np.ndarray], rng) -> list[tuple[str, np.ndarray]]:
    h, w = shape
    out = []
    for k in range(2):
        bh, bw = int(h * rng.uniform(0.1, 0.2)), int(w * rng.uniform(0.1, 0.2))
        y, x = int(rng.integers(0, h - bh)), int(rng.integers(0, w - bw))
        m = np.zeros(shape, bool)
        m[y : y + bh, x : x + bw] = True
        out.append((f"box{k}", m))
    obj = shapes[int(rng.integers(len(shapes)))]
    ys, xs = np.nonzero(obj)
    crop = obj[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(float)
    f = 0.2 * h / crop.shape[0]
    size = (max(int(crop.shape[0] * f), 4), min(max(int(crop.shape[1] * f), 4), w - 2))
    crop = resize(crop, size, order=1) >= 0.5
    y, x = int(rng.integers(0, h - size[0])), int(rng.integers(0, w - size[1]))
    m = np.zeros(shape, bool)
    m[y : y + size[0], x : x + size[1]] = crop
    out.append(("object", m))
    return out


def measure(filled: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> dict:
    mse = float(((filled[hole] - truth[hole]) ** 2).mean())
    gray_f, gray_t = filled.mean(-1), truth.mean(-1)
    _, ssim_map = structural_similarity(gray_f, gray_t, data_range=1.0, win_size=7, full=True)
    grad = lambda g: np.hypot(ndi.sobel(g, 0), ndi.sobel(g, 1))[hole].mean()  # noqa: E731
    return {
        "psnr": 10 * np.log10(1.0 / max(mse, 1e-12)),
        "ssim": float(ssim_map[hole].mean()),
        "texture": float(grad(gray_f) / max(grad(gray_t), 1e-9)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", default="docs/results/recompose_fill.json")
    args = ap.parse_args()
    truth = load_truth(TRUTH)
    rng = np.random.default_rng(0)
    rows = []
    for name in PHOTOS:
        img = to_float_rgb(load_photo(name))[0]
        others = [m for p, objs in truth.items() if p != name for m in objs.values()]
        for label, hole in holes(img.shape[:2], others, rng):
            row = {"photo": name, "hole": label, "hole_fraction": round(float(hole.mean()), 4)}
            damaged = np.where(hole[..., None], 0.0, img)
            for fill, fn in FILLS.items():
                t0 = time.process_time()
                out = fn(damaged, hole)
                row[fill] = {k: round(v, 4) for k, v in measure(out, img, hole).items()}
                row[fill]["cpu_s"] = round(time.process_time() - t0, 2)
            rows.append(row)
            print(json.dumps(row), flush=True)
    summary = {
        fill: {
            k: round(float(np.mean([r[fill][k] for r in rows])), 4)
            for k in ("psnr", "ssim", "texture", "cpu_s")
        }
        for fill in FILLS
    }
    summary["psnr_gain_db"] = round(summary["patch"]["psnr"] - summary["diffusion"]["psnr"], 3)
    summary["cases_patch_psnr_higher"] = int(
        sum(r["patch"]["psnr"] > r["diffusion"]["psnr"] for r in rows)
    )
    summary["cases"] = len(rows)
    out = {
        "command": "OMP_NUM_THREADS=1 python benchmarks/recompose_fill_bench.py",
        "summary": summary,
        "cases": rows,
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
