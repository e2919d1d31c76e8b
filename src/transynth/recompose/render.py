"""Re-rendering: cut the matched objects, fill the holes, paste them at their new layout.

Following the cut-and-paste recomposition of Chang, Wang and Chen (ACM MM 2014/2015, the
lecture's "photography recomposition"), each matched object moves so that its normalised
centroid lands on its reference object's centroid and is scaled by
``s = sqrt(area_ref / area_in)`` (relative areas match), clipped to ``[1/max_scale,
max_scale]`` and so that it still fits the frame (the placement is clamped inside the image).
Unmatched objects are left where they are. When the object cannot reach that layout inside
the frame (it would leave the image), the placement of least layout distance (see
:mod:`.score`) over the allowed scales, with the position clamped inside the frame, is used
instead, so that a move never takes an object further from its reference layout.

* Hole filling: the pixels the moved objects covered (dilated by a few pixels, so no object
  fringe is left behind) are filled by ``fill``: "patch" (default), the exemplar completion of
  :mod:`.patchfill` (PatchMatch nearest neighbours, patch voting, coarse to fine), which
  continues edges and texture from the rest of the photo; or "diffusion", the smooth
  pull-push + membrane fill of :mod:`.fill`, fast but smeared on large textured holes.
* Seams: every object is composited with a feathered alpha, its mask smoothed by a Gaussian of
  ``feather`` pixels (alpha blending across a band of about two sigmas).
* Objects are pasted largest first, so smaller ones stay visible on top.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi
from skimage.transform import resize

from .fill import diffusion_fill
from .patchfill import patch_fill

FILLS = ("patch", "diffusion")
#: The exemplar fill runs at this longest side at most (its cost grows with the hole's pixels).
PATCH_FILL_MAX_SIDE = 320


def patch_fill_capped(
    image: np.ndarray, hole: np.ndarray, max_side: int = PATCH_FILL_MAX_SIDE
) -> np.ndarray:
    """:func:`patch_fill` at a longest side of at most `max_side`, upsampled into the hole."""
    h, w = hole.shape
    f = max_side / max(h, w)
    if f >= 1:
        return patch_fill(image, hole)
    size = (max(int(round(h * f)), 1), max(int(round(w * f)), 1))
    small = resize(image, size + image.shape[2:], order=1, anti_aliasing=True)
    # a small pixel touched by the hole is a hole pixel: no object colour leaks into the fill
    small_hole = resize(hole.astype(np.float64), size, order=1, anti_aliasing=True) > 1e-3
    filled = resize(patch_fill(small, small_hole), image.shape, order=1, mode="edge")
    return np.where(hole[..., None], filled, image)


@dataclass
class Placement:
    """Where one object goes: source bbox, scale and the new top-left corner (pixels)."""

    input_index: int
    reference_index: int
    scale: float
    src_bbox: tuple[int, int, int, int]  # (x0, y0, x1, y1) in the rendered image
    dst_origin: tuple[int, int]  # (x, y) of the scaled bbox in the rendered image
    dst_size: tuple[int, int]  # (width, height) of the scaled bbox
    from_centroid: tuple[float, float]  # normalised
    to_centroid: tuple[float, float]  # normalised, after clamping to the frame
    wanted_centroid: tuple[float, float]  # normalised reference centroid

    def summary(self) -> dict:
        return {
            "input": self.input_index,
            "reference": self.reference_index,
            "scale": round(self.scale, 4),
            "from": [round(float(v), 4) for v in self.from_centroid],
            "to": [round(float(v), 4) for v in self.to_centroid],
            "wanted": [round(float(v), 4) for v in self.wanted_centroid],
        }


def place_objects(
    shape: tuple[int, int],
    moves: list[tuple[int, int, np.ndarray, tuple[float, float], float]],
    max_scale: float = 2.0,
) -> list[Placement]:
    """Placements for `moves` of (input index, reference index, mask, target centroid, area).

    `mask` is the object's mask in the rendered image; the target centroid is normalised and
    the target area a fraction of the image.
    """
    h, w = shape
    out = []
    for i, a, mask, target, target_area in moves:
        ys, xs = np.nonzero(mask)
        if len(ys) == 0:
            continue
        x0, y0, x1, y1 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
        bw, bh = x1 - x0, y1 - y0
        area = len(ys) / (h * w)
        wanted = float(np.sqrt(max(target_area, 1e-8) / area))
        fit = min(w / bw, h / bh)
        lo, hi = 1.0 / max_scale, min(max_scale, fit)
        candidates = {min(max(wanted, lo), hi), min(1.0, fit)}
        candidates.update(np.geomspace(lo, max(hi, lo), 24).tolist())
        mx, my = xs.mean() + 0.5 - x0, ys.mean() + 0.5 - y0  # centroid inside the bbox
        best = None
        for s in sorted(candidates):
            dw, dh = max(int(round(bw * s)), 1), max(int(round(bh * s)), 1)
            if dw > w or dh > h:
                continue
            cx, cy = mx * dw / bw, my * dh / bh
            ox = min(max(int(round(target[0] * w - cx)), 0), w - dw)
            oy = min(max(int(round(target[1] * h - cy)), 0), h - dh)
            # the layout distance this placement leaves (normalised centroid and sqrt area)
            d2 = ((ox + cx) / w - target[0]) ** 2 + ((oy + cy) / h - target[1]) ** 2
            d2 += (np.sqrt(area * dw * dh / (bw * bh)) - np.sqrt(target_area)) ** 2
            if best is None or d2 < best[0] - 1e-12:
                best = (d2, dw, dh, cx, cy, ox, oy)
        if best is None:
            continue
        _, dw, dh, cx, cy, ox, oy = best
        s_x, s_y = dw / bw, dh / bh
        out.append(
            Placement(
                input_index=i,
                reference_index=a,
                scale=float(np.sqrt(s_x * s_y)),
                src_bbox=(int(x0), int(y0), int(x1), int(y1)),
                dst_origin=(ox, oy),
                dst_size=(dw, dh),
                from_centroid=(float((xs.mean() + 0.5) / w), float((ys.mean() + 0.5) / h)),
                to_centroid=(float((ox + cx) / w), float((oy + cy) / h)),
                wanted_centroid=(float(target[0]), float(target[1])),
            )
        )
    return out


def render(
    image: np.ndarray,
    masks: list[np.ndarray],
    placements: list[Placement],
    feather: float = 1.5,
    fill: str = "patch",
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The recomposed image and each placed object's mask in it (same order as placements).

    `image` is (H, W, 3) float in [0, 1]; ``masks[p.input_index]`` is the object's mask.
    """
    if fill not in FILLS:
        raise ValueError(f"unknown fill {fill!r}; choose from {', '.join(FILLS)}")
    h, w = image.shape[:2]
    if not placements:
        return image.copy(), []
    hole = np.zeros((h, w), bool)
    for p in placements:
        hole |= masks[p.input_index]
    grow = max(int(round(0.01 * max(h, w))), 1) + int(np.ceil(feather))
    hole = ndi.binary_dilation(hole, iterations=grow)
    out = patch_fill_capped(image, hole) if fill == "patch" else diffusion_fill(image, hole)
    order = sorted(range(len(placements)), key=lambda k: -masks[placements[k].input_index].sum())
    new_masks: list[np.ndarray] = [np.zeros((h, w), bool) for _ in placements]
    for k in order:
        p = placements[k]
        x0, y0, x1, y1 = p.src_bbox
        dw, dh = p.dst_size
        ox, oy = p.dst_origin
        crop = image[y0:y1, x0:x1]
        m = masks[p.input_index][y0:y1, x0:x1].astype(np.float64)
        crop = resize(crop, (dh, dw, image.shape[2]), order=1, anti_aliasing=p.scale < 1)
        m = resize(m, (dh, dw), order=1, anti_aliasing=p.scale < 1)
        hard = m >= 0.5
        alpha = ndi.gaussian_filter(hard.astype(np.float64), feather) if feather > 0 else hard
        alpha = np.clip(alpha, 0, 1)[..., None]
        region = out[oy : oy + dh, ox : ox + dw]
        out[oy : oy + dh, ox : ox + dw] = alpha * crop + (1 - alpha) * region
        new_masks[k][oy : oy + dh, ox : ox + dw] = hard
    return np.clip(out, 0, 1), new_masks
