"""Graph matching with pairwise consistency: spectral matching and IPFP.

Both maximise the quadratic assignment score ``x^T M x`` over one-to-one assignments ``x``
(``x[(i,a)] = 1`` when node i of the input matches node a of the reference), with ``M`` the
affinity matrix of :mod:`transynth.recompose.graph`.

* Spectral matching (Leordeanu and Hebert, "A Spectral Technique for Correspondence Problems
  Using Pairwise Constraints", ICCV 2005): relax to ``max x^T M x`` s.t. ``||x||_2 = 1``,
  whose optimum is the leading eigenvector ``x*`` of M (non-negative by Perron-Frobenius,
  since M is); then discretise greedily: accept the candidate with the largest ``x*``,
  remove every candidate in conflict with it (same i or same a), repeat until none is left or
  the largest remaining ``x*`` is zero.
* IPFP (Leordeanu, Hebert and Sukthankar, "An Integer Projected Fixed Point Method for Graph
  Matching and MAP Inference", NIPS 2009): from ``x_0`` (the spectral solution, "IPFP-S"),
  iterate ``b_{k+1} = argmax_b b^T M x_k`` over discrete one-to-one assignments (a linear
  assignment problem, solved by the Hungarian method), then a line search on
  ``x_k + r (b_{k+1} - x_k)``, ``r in [0, 1]``: with ``C = x_k^T M (b - x_k)`` and
  ``D = (b - x_k)^T M (b - x_k)``, ``r = 1`` if ``D >= 0`` else ``min(-C / D, 1)``; keep the
  discrete ``b`` of best score; stop when ``x`` stops changing.

Different numbers of nodes are handled by partial one-to-one assignments (rectangular
problems): ``min(n1, n2)`` pairs at most; a pair whose support (its node affinity plus its
pairwise agreement with the other pairs, ``(M b)_(i,a)``) is below ``min_affinity`` is
dropped, so objects with no counterpart stay unmatched.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from .graph import SceneGraph, affinity_matrix

METHODS = ("ipfp", "spectral")


@dataclass
class Matching:
    """A one-to-one partial matching of input nodes to reference nodes."""

    pairs: list[tuple[int, int]]  # (input index, reference index)
    score: float  # x^T M x of the discrete assignment
    method: str
    affinities: list[float] = field(default_factory=list)  # node affinity of each pair

    def as_dict(self) -> dict[int, int]:
        return dict(self.pairs)

    def summary(self) -> dict:
        return {
            "method": self.method,
            "pairs": [list(p) for p in self.pairs],
            "score": round(self.score, 6),
            "node_affinity": [round(a, 4) for a in self.affinities],
        }


def leading_eigenvector(m: np.ndarray) -> np.ndarray:
    """The principal eigenvector of a symmetric non-negative matrix, made non-negative."""
    if m.size == 0:
        return np.zeros(0)
    _, vecs = np.linalg.eigh((m + m.T) / 2)
    v = vecs[:, -1]
    v = v if v.sum() >= 0 else -v
    return np.clip(v, 0, None)


def greedy_discretise(x: np.ndarray, n1: int, n2: int) -> np.ndarray:
    """Leordeanu-Hebert discretisation: accept the largest, reject its conflicts, repeat."""
    score = x.reshape(n1, n2).astype(np.float64).copy()
    out = np.zeros((n1, n2))
    for _ in range(min(n1, n2)):
        i, a = np.unravel_index(np.argmax(score), score.shape)
        if score[i, a] <= 0:
            break
        out[i, a] = 1.0
        score[i, :] = -np.inf
        score[:, a] = -np.inf
    return out.ravel()


def spectral_matching(m: np.ndarray, n1: int, n2: int) -> tuple[np.ndarray, np.ndarray]:
    """(discrete assignment, relaxed eigenvector), both of length ``n1 * n2``."""
    x = leading_eigenvector(m)
    return greedy_discretise(x, n1, n2), x


def _project(v: np.ndarray, n1: int, n2: int) -> np.ndarray:
    """The discrete one-to-one assignment maximising ``b^T v`` (Hungarian method)."""
    rows, cols = linear_sum_assignment(v.reshape(n1, n2), maximize=True)
    b = np.zeros((n1, n2))
    b[rows, cols] = 1.0
    return b.ravel()


def ipfp(
    m: np.ndarray, n1: int, n2: int, x0: np.ndarray | None = None, max_iter: int = 50
) -> np.ndarray:
    """Integer projected fixed point; returns the best discrete assignment found."""
    if x0 is None:
        x = np.full(n1 * n2, 1.0 / max(n1, n2))
    else:
        x = np.asarray(x0, np.float64).copy()
        # a solution on the assignment polytope's scale (rows summing to about one)
        x = x / max(x.reshape(n1, n2).sum(1).max(), 1e-12)
    best = _project(x, n1, n2)
    best_score = best @ m @ best
    for _ in range(max_iter):
        b = _project(m @ x, n1, n2)
        s = b @ m @ b
        if s > best_score + 1e-12:
            best, best_score = b, s
        step = b - x
        c = x @ m @ step
        d = step @ m @ step
        r = 1.0 if d >= 0 else min(-c / d, 1.0)
        new = x + max(r, 0.0) * step
        if np.abs(new - x).max() < 1e-9:
            break
        x = new
    return best


def match_graphs(
    g1: SceneGraph,
    g2: SceneGraph,
    method: str = "ipfp",
    min_affinity: float = 1e-3,
    colour_weight: float = 0.25,
    position_weight: float = 0.1,
) -> Matching:
    """Match the nodes of `g1` (input) to those of `g2` (reference)."""
    if method not in METHODS:
        raise ValueError(f"unknown matching method {method!r}; choose from {', '.join(METHODS)}")
    n1, n2 = len(g1), len(g2)
    if n1 == 0 or n2 == 0:
        return Matching([], 0.0, method)
    m = affinity_matrix(g1, g2, colour_weight, position_weight)
    b, x = spectral_matching(m, n1, n2)
    if method == "ipfp":
        b_ipfp = ipfp(m, n1, n2, x0=x)
        b = b_ipfp if b_ipfp @ m @ b_ipfp >= b @ m @ b else b
    sol = b.reshape(n1, n2)
    unary = np.diag(m).reshape(n1, n2)
    pairs, affs = [], []
    for i, a in zip(*np.nonzero(sol), strict=True):
        k = i * n2 + a
        support = unary[i, a] + (m[k] @ b - m[k, k])
        if support < min_affinity:
            continue
        pairs.append((int(i), int(a)))
        affs.append(float(unary[i, a]))
    keep = np.zeros(n1 * n2)
    for i, a in pairs:
        keep[i * n2 + a] = 1.0
    return Matching(pairs, float(keep @ m @ keep), method, affs)
