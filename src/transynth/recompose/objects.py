"""Foreground object discovery: saliency, a GrabCut refinement, then connected objects.

1. Saliency: :mod:`transynth.recompose.saliency` (Zhu et al., CVPR 2014, on SLIC superpixels).
2. Refinement, GrabCut (Rother, Kolmogorov and Blake, SIGGRAPH 2004) initialised from the
   saliency map as in SaliencyCut (Cheng et al., "Global Contrast Based Salient Region
   Detection", TPAMI 2015): foreground and background colour models are Gaussian mixtures
   (5 full-covariance components each, CIE-Lab), fitted to the current labelling; each pixel
   pays ``U_p(l) = -log p(z_p | GMM_l) - lambda log P_sal(l)`` with the saliency ``s_p`` as a
   soft prior (``P_sal(fg) = s_p``, clipped to [0.02, 0.98]) and neighbours pay the
   contrast-sensitive Potts term ``w_pq = gamma exp(-beta ||z_p - z_q||^2)`` with GrabCut's
   ``beta = 1 / (2 <||z_p - z_q||^2>)``; the energy is minimised exactly by a min cut
   (:mod:`transynth.recompose.graphcut`), the models are refitted and the cut repeated.
   Departures: the saliency prior replaces GrabCut's user rectangle (SaliencyCut uses a hard
   trimap from the saliency instead), and pixels far from any salient region (``s_p < 0.05``)
   are fixed to the background, like the outside of GrabCut's rectangle.
3. Objects: connected components of the refined foreground (holes filled), those below
   ``min_area`` of the image dropped, the ``max_objects`` with the largest saliency mass kept.
   Each object has a mask, a normalised centroid, an area fraction, a bounding box, a mean
   colour and its mean saliency.
4. Further objects by suppression: one GrabCut separates the most salient region from the
   rest, so a second salient object beside a first one (the helmet beside the astronaut) is
   labelled background with everything else. So the objects found are fixed to the
   background, the saliency of what remains is rescaled to [0, 1] and steps 2-3 run again,
   for up to ``rounds`` rounds, while the remaining saliency peaks at ``NEXT_ROUND_PEAK`` or
   more of the first round's peak (a weaker peak is background texture, not an object);
   objects of these later rounds must cover ``NEXT_ROUND_MIN_AREA`` of the image (smaller
   ones are the fringe of a suppressed object).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage as ndi
from skimage.color import rgb2lab
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from .graphcut import grid_min_cut
from .saliency import saliency_map

GMM_COMPONENTS = 5
GAMMA = 50.0
SALIENCY_WEIGHT = 1.0
SURE_BACKGROUND = 0.05
NEXT_ROUND_PEAK = 0.65
NEXT_ROUND_MIN_AREA = 0.03


@dataclass
class SceneObject:
    """One salient object of an image (coordinates normalised by the image width/height)."""

    mask: np.ndarray  # (H, W) bool
    centroid: tuple[float, float]  # (x, y) in [0, 1]
    area: float  # fraction of the image
    bbox: tuple[int, int, int, int]  # (x0, y0, x1, y1) pixels, x1/y1 exclusive
    colour: tuple[float, float, float]  # mean RGB in [0, 1]
    saliency: float  # mean saliency inside the mask

    @property
    def aspect(self) -> float:
        """Bounding-box width over height."""
        x0, y0, x1, y1 = self.bbox
        return (x1 - x0) / max(y1 - y0, 1)

    def summary(self) -> dict:
        return {
            "centroid": [round(self.centroid[0], 4), round(self.centroid[1], 4)],
            "area": round(self.area, 4),
            "bbox": list(self.bbox),
            "colour": [round(c, 4) for c in self.colour],
            "saliency": round(self.saliency, 4),
        }


@dataclass
class Discovery:
    """The salient objects of one image, with the maps they came from."""

    objects: list[SceneObject]
    saliency: np.ndarray  # (H, W) in [0, 1]
    foreground: np.ndarray  # (H, W) bool, the refined foreground (all components)
    notes: list[str] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, int]:
        return self.saliency.shape


def _fit_gmm(samples: np.ndarray, rng: np.random.Generator) -> GaussianMixture | None:
    if len(samples) < 2 * GMM_COMPONENTS:
        return None
    if len(samples) > 2500:
        samples = samples[rng.choice(len(samples), 2500, replace=False)]
    k = min(GMM_COMPONENTS, len(np.unique(samples.round(1), axis=0)))
    gmm = GaussianMixture(
        k,
        covariance_type="full",
        reg_covar=1e-2,
        max_iter=10,
        tol=1e-2,
        init_params="k-means++",
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gmm.fit(samples)
    return gmm


def grabcut_refine(
    image: np.ndarray,
    saliency: np.ndarray,
    iterations: int = 3,
    seed: int = 0,
    fixed_bg: np.ndarray | None = None,
) -> np.ndarray:
    """Saliency-initialised GrabCut of an RGB float image; returns the foreground mask.

    `fixed_bg` (H, W bool) marks pixels forced to the background besides the unsalient ones.
    """
    h, w = saliency.shape
    z = rgb2lab(image).reshape(-1, 3)
    fg = saliency >= max(0.5 * saliency.max(), 1e-6)
    if not fg.any() or fg.all():
        return fg
    zi = z.reshape(h, w, 3)
    dr = ((zi[:, 1:] - zi[:, :-1]) ** 2).sum(-1)
    dd = ((zi[1:] - zi[:-1]) ** 2).sum(-1)
    beta = 1.0 / (2 * max(np.concatenate([dr.ravel(), dd.ravel()]).mean(), 1e-6))
    w_right, w_down = GAMMA * np.exp(-beta * dr), GAMMA * np.exp(-beta * dd)
    p = np.clip(saliency, 0.02, 0.98).ravel()
    prior_fg, prior_bg = -SALIENCY_WEIGHT * np.log(p), -SALIENCY_WEIGHT * np.log1p(-p)
    sure_bg = saliency < SURE_BACKGROUND
    if fixed_bg is not None:
        sure_bg |= fixed_bg
        fg &= ~fixed_bg
    sure_bg = sure_bg.ravel()
    rng = np.random.default_rng(seed)
    for _ in range(iterations):
        flat = fg.ravel()
        g_fg, g_bg = _fit_gmm(z[flat], rng), _fit_gmm(z[~flat], rng)
        if g_fg is None or g_bg is None:
            break
        cost_fg = -g_fg.score_samples(z) + prior_fg
        cost_bg = -g_bg.score_samples(z) + prior_bg
        new = grid_min_cut(
            cost_fg.reshape(h, w), cost_bg.reshape(h, w), w_right, w_down, sure_bg.reshape(h, w)
        )
        if not new.any():
            break
        changed = (new != fg).mean()
        fg = new
        if changed < 1e-3:
            break
    return fg


def objects_from_mask(
    image: np.ndarray,
    foreground: np.ndarray,
    saliency: np.ndarray,
    max_objects: int = 4,
    min_area: float = 0.01,
) -> list[SceneObject]:
    """Connected components of `foreground` as objects, most salient (by mass) first."""
    h, w = foreground.shape
    filled = ndi.binary_fill_holes(foreground)
    labels, n = ndi.label(filled)
    if n == 0:
        return []
    idx = np.arange(1, n + 1)
    sizes = ndi.sum_labels(np.ones_like(saliency), labels, idx)
    mass = ndi.sum_labels(saliency, labels, idx)
    keep = [k for k in np.argsort(-mass) if sizes[k] >= min_area * h * w][:max_objects]
    yy, xx = np.mgrid[0:h, 0:w]
    out = []
    for k in keep:
        m = labels == k + 1
        ys, xs = yy[m], xx[m]
        colour = image[m].mean(0)
        out.append(
            SceneObject(
                mask=m,
                centroid=(float((xs.mean() + 0.5) / w), float((ys.mean() + 0.5) / h)),
                area=float(m.mean()),
                bbox=(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1),
                colour=(float(colour[0]), float(colour[1]), float(colour[2])),
                saliency=float(saliency[m].mean()),
            )
        )
    return out


def discover_objects(
    image: np.ndarray,
    max_objects: int = 4,
    min_area: float = 0.01,
    iterations: int = 3,
    rounds: int = 3,
) -> Discovery:
    """The salient objects of an RGB float image in [0, 1] (see the module docstring).

    `rounds` = 1 keeps only the components of a single GrabCut (no suppression rounds).
    """
    h, w = image.shape[:2]
    notes: list[str] = []
    if min(h, w) < 16:
        notes.append(f"image of {w}x{h} pixels is too small to find objects in (under 16 pixels)")
        z = np.zeros((h, w))
        return Discovery([], z, z.astype(bool), notes)
    if float(image.std()) < 1e-3:
        notes.append("image is (nearly) constant: no salient object")
        z = np.zeros((h, w))
        return Discovery([], z, z.astype(bool), notes)
    sal, _ = saliency_map(image)
    objects: list[SceneObject] = []
    foreground = np.zeros((h, w), bool)
    taken = np.zeros((h, w), bool)  # found objects plus a 2-pixel margin
    peak = float(sal.max())
    for r in range(max(rounds, 1)):
        rest = np.where(taken, 0.0, sal)
        if r > 0 and (rest.max() < NEXT_ROUND_PEAK * peak or len(objects) >= max_objects):
            break
        rest = rest / rest.max() if rest.max() > 0 else rest
        fg = grabcut_refine(image, rest, iterations=iterations, fixed_bg=taken if r else None)
        fg &= ~taken
        new = objects_from_mask(
            image, fg, sal, max_objects=max_objects - len(objects), min_area=min_area
        )
        # hole filling may reach into an earlier object; such a component is not a new one
        new = [o for o in new if (o.mask & taken).sum() < 0.2 * o.mask.sum()]
        if r > 0:  # small leftovers beside a suppressed object are its fringe, not objects
            new = [o for o in new if o.area >= max(NEXT_ROUND_MIN_AREA, min_area)]
        if not new:
            break
        for o in new:
            foreground |= o.mask
            taken |= ndi.binary_dilation(o.mask, iterations=2)
        objects += new
    fg = foreground
    if not objects:
        notes.append("no salient object found")
    elif sum(o.area for o in objects) > 0.8:
        notes.append("the salient region covers most of the image; its layout can barely change")
    return Discovery(objects, sal, fg, notes)
