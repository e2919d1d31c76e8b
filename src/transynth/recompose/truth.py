"""Hand-drawn ground-truth objects of the bundled photos, and how found objects are scored.

The outlines live in ``tests/data/recompose/ground_truth.json`` (polygons and ellipses in the
full-size photo's pixels, drawn by eye over a grid, see that file's ``about``). Found objects
are paired one-to-one with true objects by the Hungarian method on intersection over union;
an object counts as found when its pair has IoU >= ``IOU_FOUND``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy.optimize import linear_sum_assignment
from skimage.transform import resize

IOU_FOUND = 0.5


def _draw_shape(draw: ImageDraw.ImageDraw, shape: dict, where: str) -> None:
    if "polygon" in shape:
        pts = [tuple(map(float, p)) for p in shape["polygon"]]
        if len(pts) < 3:
            raise ValueError(f"{where}: a polygon needs at least 3 points, got {len(pts)}")
        draw.polygon(pts, fill=1)
    elif "ellipse" in shape:
        e = shape["ellipse"]
        t = np.linspace(0, 2 * np.pi, 180, endpoint=False)
        a = np.deg2rad(float(e.get("angle_deg", 0.0)))
        x, y = e["rx"] * np.cos(t), e["ry"] * np.sin(t)
        xs = e["cx"] + x * np.cos(a) - y * np.sin(a)
        ys = e["cy"] + x * np.sin(a) + y * np.cos(a)
        draw.polygon(list(zip(xs.tolist(), ys.tolist(), strict=True)), fill=1)
    else:
        raise ValueError(f"{where}: a shape is a 'polygon' or an 'ellipse', got {sorted(shape)}")


def load_truth(path: str | os.PathLike) -> dict[str, dict[str, np.ndarray]]:
    """``{photo: {object name: (H, W) bool mask}}`` at full size; objects are disjoint."""
    path = Path(path)
    try:
        spec = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"cannot read ground truth {path}: {err}") from err
    out = {}
    for photo, entry in spec["photos"].items():
        w, h = entry["size"]
        taken = np.zeros((h, w), bool)
        masks = {}
        for name, shapes in entry["objects"].items():
            canvas = Image.new("1", (w, h), 0)
            draw = ImageDraw.Draw(canvas)
            for shape in shapes:
                _draw_shape(draw, shape, f"{path}: {photo}/{name}")
            m = np.asarray(canvas, bool) & ~taken  # the first listed object owns overlaps
            taken |= m
            masks[name] = m
        out[photo] = masks
    return out


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boolean masks of one shape (0 when both are empty)."""
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 0.0


@dataclass
class TruthScore:
    """How the objects found in one photo compare with its hand-drawn objects."""

    names: list[str]  # true objects, in the file's order
    ious: list[float]  # best one-to-one IoU of each true object (0 when unpaired)
    found: int  # true objects paired with IoU >= IOU_FOUND
    detections: int  # objects the detector returned

    def summary(self) -> dict:
        return {
            "objects_there": len(self.names),
            "objects_found": self.found,
            "detections": self.detections,
            "iou": {n: round(v, 3) for n, v in zip(self.names, self.ious, strict=True)},
        }


def score_objects(found: list[np.ndarray], truth: dict[str, np.ndarray]) -> TruthScore:
    """Pair `found` masks (any resolution) one-to-one with `truth` masks by IoU."""
    names = list(truth)
    shape = next(iter(truth.values())).shape
    masks = [
        m if m.shape == shape else resize(m.astype(float), shape, order=1) >= 0.5 for m in found
    ]
    ious = np.array([[iou(f, truth[n]) for f in masks] for n in names]).reshape(len(names), -1)
    best = [0.0] * len(names)
    if ious.size:
        rows, cols = linear_sum_assignment(ious, maximize=True)
        for r, c in zip(rows, cols, strict=True):
            best[r] = float(ious[r, c])
    return TruthScore(names, best, sum(v >= IOU_FOUND for v in best), len(found))
