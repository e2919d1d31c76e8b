"""Composition scores: distance to the reference layout, and the rule of thirds.

* Layout distance between matched objects, in normalised image coordinates:
  ``D = 1/|P| sum_{(i,a) in P} sqrt(||x_i - x'_a||^2 + (sqrt(A_i) - sqrt(A'_a))^2)``
  over the matched pairs P, with centroids ``x`` and area fractions ``A`` (the square root
  puts scale on the same footing as position). The recomposition's gain is
  ``1 - D_after / D_before`` (1: the layouts now coincide, 0: no change, < 0: worse).
* Rule of thirds, the point term of Liu, Chen, Wolf and Cohen-Or ("Optimizing Photo
  Composition", Eurographics 2010):
  ``E_RT = sum_i M_i exp(-d_i^2 / 2 sigma^2) / sum_i M_i`` with ``d_i`` the distance of object
  i's centroid to the nearest of the four power points (intersections of the thirds lines),
  ``M_i`` its saliency mass (area times mean saliency) and ``sigma = 0.17``; in (0, 1], higher
  is closer to the rule. Departure: Liu et al. also score line alignment and visual balance.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

THIRDS_SIGMA = 0.17
POWER_POINTS = np.array([[1, 1], [1, 2], [2, 1], [2, 2]], dtype=np.float64) / 3.0


def layout_distance(
    centroids_a: Sequence, areas_a: Sequence, centroids_b: Sequence, areas_b: Sequence
) -> float:
    """Mean distance between paired layouts (row k of a pairs with row k of b); nan if empty."""
    ca = np.asarray(centroids_a, np.float64).reshape(-1, 2)
    cb = np.asarray(centroids_b, np.float64).reshape(-1, 2)
    if len(ca) == 0:
        return float("nan")
    sa = np.sqrt(np.asarray(areas_a, np.float64).reshape(-1))
    sb = np.sqrt(np.asarray(areas_b, np.float64).reshape(-1))
    d = np.sqrt(((ca - cb) ** 2).sum(1) + (sa - sb) ** 2)
    return float(d.mean())


def rule_of_thirds(centroids: Sequence, masses: Sequence) -> float:
    """Mass-weighted closeness of object centroids to the power points; nan with no object."""
    c = np.asarray(centroids, np.float64).reshape(-1, 2)
    m = np.asarray(masses, np.float64).reshape(-1)
    if len(c) == 0 or m.sum() <= 0:
        return float("nan")
    d2 = ((c[:, None, :] - POWER_POINTS[None]) ** 2).sum(-1).min(1)
    return float((m * np.exp(-d2 / (2 * THIRDS_SIGMA**2))).sum() / m.sum())


def gain(before: float, after: float) -> float:
    """``1 - after / before``; 0 when both are (about) zero, nan when undefined."""
    if not np.isfinite(before) or not np.isfinite(after):
        return float("nan")
    if before < 1e-9:
        return 0.0
    return float(1.0 - after / before)
