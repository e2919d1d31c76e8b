"""Scene graphs of discovered objects and the pairwise affinity matrix between two of them.

A photo becomes a graph whose nodes are its salient objects, with attributes: normalised
centroid ``x_i``, scale ``s_i = sqrt(area_i)`` (area as a fraction of the image), log aspect
ratio, mean saliency and mean CIE-Lab colour; its edges are the pairwise spatial relations
``e_ij = (x_j - x_i, log(s_j / s_i))``: the relative offset and the log scale ratio.

Matching graph ``G`` (n nodes) to ``G'`` (n' nodes) considers every candidate assignment
``(i, a)``; the affinity matrix ``M`` (``n n' x n n'``, symmetric, non-negative) of Leordeanu
and Hebert (ICCV 2005) holds

* ``M[(i,a),(i,a)] = exp(-d_node(i, a)^2 / 2)``: how well node i agrees with node a, with
  ``d_node^2 = (ds/0.1)^2 + (d log aspect/0.7)^2 + (d saliency/0.3)^2 + w_c (d Lab/30)^2
  + w_x (||dx||/0.5)^2``;
* ``M[(i,a),(j,b)] = exp(-d_edge^2 / 2)`` for ``i != j, a != b``: how well the relation of
  i and j agrees with that of a and b, ``d_edge^2 = ||dx_ij - dx'_ab||^2 / 0.15^2 +
  (log(s_j/s_i) - log(s'_b/s'_a))^2 / 0.5^2``;
* ``0`` for conflicting pairs (``i = j`` xor ``a = b``), which breaks one-to-one mapping.

The position weight ``w_x`` is small because a recomposition moves objects by design: which
object plays which role is decided by size, shape, appearance and above all by the
consistency of the pairwise arrangement, not by where the object happens to sit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SIGMA_SCALE = 0.1
SIGMA_ASPECT = 0.7
SIGMA_SALIENCY = 0.3
SIGMA_COLOUR = 30.0
SIGMA_POSITION = 0.5
SIGMA_OFFSET = 0.15
SIGMA_RATIO = 0.5


@dataclass
class SceneGraph:
    """Nodes (objects) with attributes; edges are computed from them on demand."""

    centroids: np.ndarray  # (n, 2) normalised (x, y)
    areas: np.ndarray  # (n,) fraction of the image
    aspects: np.ndarray  # (n,) bounding-box width / height
    saliency: np.ndarray  # (n,) mean saliency
    colours: np.ndarray  # (n, 3) mean CIE-Lab colour

    def __len__(self) -> int:
        return len(self.areas)

    @property
    def scales(self) -> np.ndarray:
        return np.sqrt(np.maximum(self.areas, 1e-8))

    def edges(self) -> np.ndarray:
        """(n, n, 3) relation of node i to node j: (dx, dy, log scale ratio)."""
        dx = self.centroids[None, :, :] - self.centroids[:, None, :]
        ratio = np.log(self.scales[None, :] / self.scales[:, None])
        return np.concatenate([dx, ratio[..., None]], axis=-1)

    @classmethod
    def from_arrays(
        cls,
        centroids: Sequence,
        areas: Sequence,
        aspects: Sequence | None = None,
        saliency: Sequence | None = None,
        colours: Sequence | None = None,
    ) -> SceneGraph:
        c = np.asarray(centroids, dtype=np.float64).reshape(-1, 2)
        n = len(c)
        return cls(
            centroids=c,
            areas=np.asarray(areas, dtype=np.float64).reshape(n),
            aspects=np.ones(n) if aspects is None else np.asarray(aspects, float).reshape(n),
            saliency=np.ones(n) if saliency is None else np.asarray(saliency, float).reshape(n),
            colours=np.zeros((n, 3))
            if colours is None
            else np.asarray(colours, float).reshape(n, 3),
        )

    @classmethod
    def from_objects(cls, objects: Sequence) -> SceneGraph:
        """The graph of :class:`~transynth.recompose.objects.SceneObject` s."""
        from skimage.color import rgb2lab

        rgb = np.array([o.colour for o in objects], dtype=np.float64).reshape(-1, 1, 3)
        lab = rgb2lab(np.clip(rgb, 0, 1)).reshape(-1, 3) if len(objects) else np.zeros((0, 3))
        return cls.from_arrays(
            [o.centroid for o in objects],
            [o.area for o in objects],
            [o.aspect for o in objects],
            [o.saliency for o in objects],
            lab,
        )


def node_affinity(
    g1: SceneGraph, g2: SceneGraph, colour_weight: float = 0.25, position_weight: float = 0.1
) -> np.ndarray:
    """(n1, n2) unary affinities ``exp(-d_node^2 / 2)`` (see the module docstring)."""
    d2 = ((g1.scales[:, None] - g2.scales[None, :]) / SIGMA_SCALE) ** 2
    d2 += ((np.log(g1.aspects[:, None] / g2.aspects[None, :])) / SIGMA_ASPECT) ** 2
    d2 += ((g1.saliency[:, None] - g2.saliency[None, :]) / SIGMA_SALIENCY) ** 2
    dc = np.linalg.norm(g1.colours[:, None, :] - g2.colours[None, :, :], axis=-1)
    d2 += colour_weight * (dc / SIGMA_COLOUR) ** 2
    dx = np.linalg.norm(g1.centroids[:, None, :] - g2.centroids[None, :, :], axis=-1)
    d2 += position_weight * (dx / SIGMA_POSITION) ** 2
    return np.exp(-d2 / 2)


def affinity_matrix(
    g1: SceneGraph, g2: SceneGraph, colour_weight: float = 0.25, position_weight: float = 0.1
) -> np.ndarray:
    """The ``(n1 n2, n1 n2)`` affinity matrix M; candidate ``(i, a)`` has index ``i * n2 + a``."""
    n1, n2 = len(g1), len(g2)
    e1, e2 = g1.edges(), g2.edges()  # (n1, n1, 3), (n2, n2, 3)
    # diff[i, a, j, b] = e1[i, j] - e2[a, b]
    diff = e1[:, None, :, None, :] - e2[None, :, None, :, :]
    d2 = (diff[..., 0] ** 2 + diff[..., 1] ** 2) / SIGMA_OFFSET**2 + (
        diff[..., 2] / SIGMA_RATIO
    ) ** 2
    m = np.exp(-d2 / 2)
    same_i = np.eye(n1, dtype=bool)[:, None, :, None]
    same_a = np.eye(n2, dtype=bool)[None, :, None, :]
    m[same_i | same_a] = 0.0  # conflicts, and the diagonal (filled below)
    m = m.reshape(n1 * n2, n1 * n2)
    m[np.diag_indices_from(m)] = node_affinity(g1, g2, colour_weight, position_weight).ravel()
    return m
