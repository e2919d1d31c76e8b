"""Side-by-side figure of a recomposition: input, reference, result; masks and matching drawn."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .images import downscale

COLOURS = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45"]
UNMATCHED = "#bbbbbb"


def _fmt(v: float) -> str:
    return "n/a" if not np.isfinite(v) else f"{v:.3f}"


def _thirds(ax, w: int, h: int) -> None:
    for k in (1, 2):
        ax.axvline(k * w / 3, color="white", lw=0.6, ls=":", alpha=0.8)
        ax.axhline(k * h / 3, color="white", lw=0.6, ls=":", alpha=0.8)


def _contour(ax, mask: np.ndarray, colour: str) -> None:
    if mask.any() and not mask.all():
        ax.contour(mask.astype(float), levels=[0.5], colors=[colour], linewidths=1.5)


def draw_figure(result: Any, path: str | os.PathLike, dpi: int = 80) -> Path:
    """Write the figure of `result` (a ``RecomposeResult``) to `path` (PNG); return the path.

    Typed loosely on purpose: figure.py sits below api.py and must not import it.
    """
    from matplotlib.figure import Figure  # no pyplot: no global state, Agg canvas
    from matplotlib.patches import ConnectionPatch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    inp = downscale(result.input, 320)
    res = downscale(np.asarray(result.image.convert("RGB"), dtype=np.float64) / 255.0, 320)
    ref = downscale(result.reference, 320)
    pair_of_input = dict(result.matching.pairs)
    pair_of_ref = {a: i for i, a in result.matching.pairs}
    colour_of = {i: COLOURS[k % len(COLOURS)] for k, (i, _) in enumerate(result.matching.pairs)}

    fig = Figure(figsize=(12, 4.4))
    axes = fig.subplots(1, 3)
    titles = ("input", "reference", "result")
    for ax, img, title in zip(axes, (inp, ref, res), titles, strict=True):
        ax.imshow(np.clip(img, 0, 1))
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
        _thirds(ax, img.shape[1], img.shape[0])

    def centre(obj_centroid, img) -> tuple[float, float]:
        return obj_centroid[0] * img.shape[1], obj_centroid[1] * img.shape[0]

    from skimage.transform import resize

    for i, o in enumerate(result.input_objects):
        colour = colour_of.get(i, UNMATCHED)
        m = resize(o.mask.astype(float), inp.shape[:2], order=1) >= 0.5
        _contour(axes[0], m, colour)
        axes[0].plot(*centre(o.centroid, inp), "o", color=colour, ms=6, mec="white")
    for a, o in enumerate(result.reference_objects):
        i = pair_of_ref.get(a)
        colour = colour_of.get(i, UNMATCHED) if i is not None else UNMATCHED
        m = resize(o.mask.astype(float), ref.shape[:2], order=1) >= 0.5
        _contour(axes[1], m, colour)
        axes[1].plot(*centre(o.centroid, ref), "o", color=colour, ms=6, mec="white")
    for p, mask in zip(result.placements, result.result_masks, strict=True):
        colour = colour_of.get(p.input_index, UNMATCHED)
        m = resize(mask.astype(float), res.shape[:2], order=1) >= 0.5
        _contour(axes[2], m, colour)
        axes[2].plot(*centre(p.to_centroid, res), "o", color=colour, ms=6, mec="white")
        axes[2].plot(*centre(p.wanted_centroid, res), "x", color=colour, ms=8, mew=2)
    for i, a in pair_of_input.items():
        line = ConnectionPatch(
            xyA=centre(result.input_objects[i].centroid, inp),
            coordsA=axes[0].transData,
            xyB=centre(result.reference_objects[a].centroid, ref),
            coordsB=axes[1].transData,
            color=colour_of[i],
            lw=1.5,
            ls="--",
        )
        fig.add_artist(line)
    s = result.scores
    text = (
        f"layout distance {_fmt(s['layout_distance_before'])} -> "
        f"{_fmt(s['layout_distance_after'])} (gain {_fmt(s['layout_gain'])});  rule of thirds "
        f"input {_fmt(s['thirds_input'])}, reference {_fmt(s['thirds_reference'])}, "
        f"result {_fmt(s['thirds_result'])};  matching: {result.matching.method}"
    )
    moves = [
        f"object {p.input_index} -> ref {p.reference_index}: ({p.from_centroid[0]:.2f}, "
        f"{p.from_centroid[1]:.2f}) to ({p.to_centroid[0]:.2f}, {p.to_centroid[1]:.2f}), "
        f"x{p.scale:.2f}"
        for p in result.placements
    ]
    if moves:
        text += "\nmoved: " + "; ".join(moves)
    if result.notes:
        text += "\n" + "; ".join(result.notes)
    fig.suptitle(text, fontsize=8, y=0.04, va="bottom")
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(path, dpi=dpi)
    return path
