"""Exact binary s-t minimum cut of a 4-connected pixel grid (the energy minimiser of GrabCut).

Minimises the two-label energy
``E(f) = sum_p U_p(f_p) + sum_{p~q} w_pq [f_p != f_q]``
(Boykov and Jolly, ICCV 2001; Boykov and Kolmogorov, TPAMI 2004) by a maximum flow on the graph
with a terminal edge ``s -> p`` of capacity ``U_p(0)`` (paid when p takes label 0, background)
and ``p -> t`` of capacity ``U_p(1)``, plus ``p <-> q`` edges of capacity ``w_pq``. The
foreground is the set of pixels still reachable from the source in the residual graph. The flow
itself is ``scipy.sparse.csgraph.maximum_flow`` (Dinic's algorithm); it needs integer
capacities, so the energies are quantised to 1/``scale``.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import breadth_first_order, maximum_flow


def grid_min_cut(
    cost_fg: np.ndarray,
    cost_bg: np.ndarray,
    weight_right: np.ndarray,
    weight_down: np.ndarray,
    fixed_bg: np.ndarray | None = None,
    scale: float = 100.0,
) -> np.ndarray:
    """The labelling (True = foreground) of minimum energy on an (H, W) grid.

    cost_fg / cost_bg: (H, W) unary costs of labelling a pixel foreground / background;
    weight_right: (H, W-1) cost of a label change between (y, x) and (y, x+1);
    weight_down: (H-1, W) the same between (y, x) and (y+1, x);
    fixed_bg: (H, W) bool, pixels forced to the background. They are merged into the sink
    (a free neighbour pays the edge weight if it becomes foreground), which keeps the graph small.
    """
    h, w = cost_fg.shape
    fixed = np.zeros((h, w), bool) if fixed_bg is None else np.asarray(fixed_bg, bool)
    free = ~fixed
    n = int(free.sum())
    if n == 0:
        return np.zeros((h, w), bool)
    node = np.full(h * w, -1, np.int64)
    node[free.ravel()] = np.arange(n)
    # only differences of the unaries matter: shift them to be non-negative and small
    d = (cost_fg - cost_bg).ravel()[free.ravel()].astype(np.float64)
    idx = np.arange(h * w).reshape(h, w)
    a = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    b = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    wp = np.concatenate([weight_right.ravel(), weight_down.ravel()]).astype(np.float64)
    na, nb = node[a], node[b]
    both = (na >= 0) & (nb >= 0)
    # an edge to a fixed background pixel is paid when the free end becomes foreground
    for end, other in ((na, nb), (nb, na)):
        one = (end >= 0) & (other < 0)
        d += np.bincount(end[one], wp[one], minlength=n)
    src = np.clip(-d, 0, None)  # paid if p ends on the sink side (background)
    snk = np.clip(d, 0, None)  # paid if p ends on the source side (foreground)
    s, t = n, n + 1
    nodes = np.arange(n)
    ea, eb, ew = na[both], nb[both], wp[both]
    rows = np.concatenate([ea, eb, np.full(n, s), nodes])
    cols = np.concatenate([eb, ea, nodes, np.full(n, t)])
    big = np.iinfo(np.int32).max // 8
    cap = np.clip(np.rint(np.concatenate([ew, ew, src, snk]) * scale), 0, big).astype(np.int32)
    graph = sparse.csr_matrix((cap, (rows, cols)), shape=(n + 2, n + 2))
    graph.sum_duplicates()
    flow = maximum_flow(graph, s, t).flow
    residual = (graph - flow).tocsr()
    residual.data = np.where(residual.data > 0, residual.data, 0)
    residual.eliminate_zeros()
    reach = breadth_first_order(residual, s, directed=True, return_predecessors=False)
    fg = np.zeros(n + 2, bool)
    fg[reach] = True
    out = np.zeros(h * w, bool)
    out[free.ravel()] = fg[:n]
    return out.reshape(h, w)
