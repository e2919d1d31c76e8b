"""``recompose(input, reference)``: transfer the composition of a reference photo.

The pipeline of Chang, Wang and Chen (ACM Multimedia 2014, 2015), as presented in the lecture
("foreground object discovery + graph matching"):

1. discover the salient objects of both photos (:mod:`.objects`: Zhu et al. 2014 saliency,
   GrabCut refinement, connected objects), at a working resolution (longest side
   ``max_side``);
2. build a graph per photo and match the input's objects to the reference's with pairwise
   consistency (:mod:`.graph`, :mod:`.matching`: spectral matching, IPFP);
3. move and scale each matched input object to its reference object's normalised centroid and
   relative area, fill the holes and blend the seams (:mod:`.render`), at the input's own
   resolution (longest side capped at ``output_max_side``);
4. score the layouts before and after (:mod:`.score`).

Degenerate inputs (tiny, constant or object-less images, identical layouts) return the input
unchanged with a note explaining why; unreadable files raise ``ValueError`` naming the file.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from .graph import SceneGraph
from .images import ImageLike, downscale, to_float_rgb, upsample_mask
from .matching import Matching, match_graphs
from .objects import Discovery, SceneObject, discover_objects
from .render import FILLS, Placement, place_objects, render
from .score import gain, layout_distance, rule_of_thirds

#: Below this displacement (normalised) and relative scale change nothing is re-rendered.
MOVE_TOLERANCE = 0.01
SCALE_TOLERANCE = 0.02


@dataclass
class RecomposeResult:
    """The recomposed image with everything needed to inspect and score it."""

    image: Image.Image  # the result, "RGB" or "L" like the input
    input: np.ndarray  # (H, W, 3) float input at the output resolution
    reference: np.ndarray  # (h, w, 3) float reference at the working resolution
    input_objects: list[SceneObject]  # at the working resolution, normalised attributes
    reference_objects: list[SceneObject]
    matching: Matching
    placements: list[Placement]
    input_masks: list[np.ndarray]  # each input object's mask at the output resolution
    result_masks: list[np.ndarray]  # each placement's mask in the result (same order)
    scores: dict[str, float]
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.placements)

    def summary(self) -> dict:
        """A JSON-ready description: objects, matching, moves, scores and notes."""
        return {
            "size": list(self.image.size),
            "input_objects": [o.summary() for o in self.input_objects],
            "reference_objects": [o.summary() for o in self.reference_objects],
            "matching": self.matching.summary(),
            "moves": [p.summary() for p in self.placements],
            "scores": {
                k: (round(float(v), 4) if np.isfinite(v) else None) for k, v in self.scores.items()
            },
            "notes": list(self.notes),
            "seconds": round(self.seconds, 3),
        }

    def save_figure(self, path: str | os.PathLike, dpi: int = 80) -> Path:
        """Side by side: input, reference and result, with masks and the matching drawn."""
        from .figure import draw_figure

        return draw_figure(self, path, dpi=dpi)


def _layout(objects: list[SceneObject]) -> tuple[list, list, list]:
    return (
        [o.centroid for o in objects],
        [o.area for o in objects],
        [o.area * o.saliency for o in objects],
    )


def _to_pil(image: np.ndarray, gray: bool) -> Image.Image:
    u8 = np.clip(np.rint(image * 255), 0, 255).astype(np.uint8)
    return Image.fromarray(u8[..., 0], "L") if gray else Image.fromarray(u8, "RGB")


def recompose(
    input_image: ImageLike,
    reference_image: ImageLike,
    *,
    max_side: int = 256,
    output_max_side: int = 1024,
    max_objects: int = 4,
    min_area: float = 0.01,
    method: str = "ipfp",
    max_scale: float = 2.0,
    feather: float = 1.5,
    fill: str = "patch",
) -> RecomposeResult:
    """Re-arrange `input_image` so its salient objects sit where `reference_image`'s do.

    Images are paths, PIL images or arrays. Objects are found at a longest side of `max_side`
    pixels; the result has the input's size, its longest side capped at `output_max_side`.
    `method` is "ipfp" (spectral initialisation, then IPFP) or "spectral"; `fill` is "patch"
    (exemplar completion) or "diffusion" (smooth) for the region a moved object leaves.
    """
    if max_side < 16 or output_max_side < 16:
        raise ValueError("max_side and output_max_side must be at least 16 pixels")
    if fill not in FILLS:
        raise ValueError(f"unknown fill {fill!r}; choose from {', '.join(FILLS)}")
    if max_objects < 1:
        raise ValueError(f"max_objects must be at least 1, got {max_objects}")
    start = time.perf_counter()
    src, gray = to_float_rgb(input_image, "input image")
    ref, _ = to_float_rgb(reference_image, "reference image")
    out = downscale(src, output_max_side)
    work_in, work_ref = downscale(src, max_side), downscale(ref, max_side)
    d_in = discover_objects(work_in, max_objects=max_objects, min_area=min_area)
    d_ref = discover_objects(work_ref, max_objects=max_objects, min_area=min_area)
    notes = [f"input: {n}" for n in d_in.notes] + [f"reference: {n}" for n in d_ref.notes]
    if out.shape != src.shape:
        notes.append(
            f"the result is rendered at {out.shape[1]}x{out.shape[0]} (input "
            f"{src.shape[1]}x{src.shape[0]}, longest side capped at output_max_side)"
        )
    matching = match_graphs(
        SceneGraph.from_objects(d_in.objects), SceneGraph.from_objects(d_ref.objects), method
    )
    shape = out.shape[:2]
    in_masks = [upsample_mask(o.mask, shape) for o in d_in.objects]
    scores = _scores(d_in, d_ref, matching, [], [])

    def finish(image: np.ndarray, placements: list, result_masks: list) -> RecomposeResult:
        return RecomposeResult(
            image=_to_pil(image, gray),
            input=out,
            reference=work_ref,
            input_objects=d_in.objects,
            reference_objects=d_ref.objects,
            matching=matching,
            placements=placements,
            input_masks=in_masks,
            result_masks=result_masks,
            scores=scores,
            notes=notes,
            seconds=time.perf_counter() - start,
        )

    if not d_in.objects or not d_ref.objects:
        side = "input" if not d_in.objects else "reference"
        notes.append(f"no salient object in the {side}: the input is returned unchanged")
        return finish(out, [], [])
    if not matching.pairs:
        notes.append("no object of the input matches one of the reference: input unchanged")
        return finish(out, [], [])
    moves = []
    for i, a in matching.pairs:
        r = d_ref.objects[a]
        moves.append((i, a, in_masks[i], r.centroid, r.area))
    placements = place_objects(shape, moves, max_scale=max_scale)
    if all(
        np.hypot(p.to_centroid[0] - p.from_centroid[0], p.to_centroid[1] - p.from_centroid[1])
        < MOVE_TOLERANCE
        and abs(p.scale - 1) < SCALE_TOLERANCE
        for p in placements
    ):
        notes.append("the input's layout already matches the reference: input unchanged")
        return finish(out, [], [])
    image, result_masks = render(out, in_masks, placements, feather=feather, fill=fill)
    scores = _scores(d_in, d_ref, matching, placements, result_masks)
    for p in placements:
        if (
            np.hypot(
                p.to_centroid[0] - p.wanted_centroid[0], p.to_centroid[1] - p.wanted_centroid[1]
            )
            > 0.02
        ):
            notes.append(
                f"object {p.input_index} cannot reach its reference layout inside the frame;"
                f" placed as close as the frame allows (scale {p.scale:.2f}, clamped)"
            )
    return finish(image, placements, result_masks)


def _scores(
    d_in: Discovery,
    d_ref: Discovery,
    matching: Matching,
    placements: list[Placement],
    result_masks: list[np.ndarray],
) -> dict[str, float]:
    """Layout distance before/after over the matched pairs, and rule-of-thirds measures."""
    c_in, a_in, m_in = _layout(d_in.objects)
    c_ref, a_ref, m_ref = _layout(d_ref.objects)
    pairs = matching.pairs
    before = layout_distance(
        [c_in[i] for i, _ in pairs],
        [a_in[i] for i, _ in pairs],
        [c_ref[a] for _, a in pairs],
        [a_ref[a] for _, a in pairs],
    )
    # the result's layout: moved objects where they were pasted, the others where they were
    c_out, a_out = list(c_in), list(a_in)
    for p, mask in zip(placements, result_masks, strict=True):
        h, w = mask.shape
        ys, xs = np.nonzero(mask)
        if len(ys):
            c_out[p.input_index] = (float((xs.mean() + 0.5) / w), float((ys.mean() + 0.5) / h))
            a_out[p.input_index] = len(ys) / (h * w)
    m_out = [a * o.saliency for a, o in zip(a_out, d_in.objects, strict=True)]
    after = layout_distance(
        [c_out[i] for i, _ in pairs],
        [a_out[i] for i, _ in pairs],
        [c_ref[a] for _, a in pairs],
        [a_ref[a] for _, a in pairs],
    )
    return {
        "layout_distance_before": before,
        "layout_distance_after": after,
        "layout_gain": gain(before, after),
        "thirds_input": rule_of_thirds(c_in, m_in),
        "thirds_reference": rule_of_thirds(c_ref, m_ref),
        "thirds_result": rule_of_thirds(c_out, m_out),
    }
