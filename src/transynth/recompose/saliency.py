"""Salient-region detection by saliency optimisation from robust background detection.

Method: Zhu, Liang, Wei and Sun, "Saliency Optimization from Robust Background Detection",
CVPR 2014, on SLIC superpixels (Achanta et al., TPAMI 2012) in CIE-Lab colour.

For superpixels ``p`` with mean Lab colour ``c_p`` and normalised centre ``x_p``:

* appearance distance ``d_app(p, q) = ||c_p - c_q||`` on the graph that links touching
  superpixels and all superpixels on the image border with each other; the geodesic distance
  ``d_geo(p, q)`` is the shortest path under ``d_app``;
* spanning area ``Area(p) = sum_q exp(-d_geo^2(p, q) / 2 s_clr^2)`` and its length along the
  border ``Len_bnd(p) = sum_{q in border} exp(-d_geo^2(p, q) / 2 s_clr^2)``;
* boundary connectivity ``BndCon(p) = Len_bnd(p) / sqrt(Area(p))`` and background probability
  ``w_bg(p) = 1 - exp(-BndCon^2(p) / 2 s_bnd^2)``;
* background-weighted contrast
  ``wCtr(p) = sum_q d_app(p, q) exp(-||x_p - x_q||^2 / 2 s_spa^2) w_bg(q)``;
* saliency ``s`` minimises
  ``sum_p w_bg(p) s_p^2 + sum_p w_fg(p) (s_p - 1)^2 + sum_{p~q} w_pq (s_p - s_q)^2``
  with ``w_fg = wCtr`` (scaled to [0, 1]) and ``w_pq = exp(-d_app^2(p, q) / 2 s_clr^2) + mu``,
  i.e. the linear system ``(diag(w_bg + w_fg) + L) s = w_fg`` with ``L`` the graph Laplacian.

The constants are the paper's: ``s_clr = 10`` (Lab units), ``s_bnd = 1``, ``s_spa = 0.25``,
``mu = 0.1``. Departure: the paper's 600 superpixels are scaled with the image area (about one
per 250 pixels, 40 to 400), since images here are processed at a longest side of 256.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import shortest_path
from scipy.sparse.linalg import spsolve
from skimage.color import rgb2lab
from skimage.segmentation import slic

SIGMA_CLR = 10.0
SIGMA_BND = 1.0
SIGMA_SPA = 0.25
MU = 0.1


@dataclass
class SuperpixelGraph:
    """SLIC superpixels of an image with their mean colour, centre, size and adjacency."""

    labels: np.ndarray  # (H, W) int, 0..n-1
    lab: np.ndarray  # (n, 3) mean CIE-Lab colour
    centre: np.ndarray  # (n, 2) mean (x, y), normalised to [0, 1]
    size: np.ndarray  # (n,) pixel count
    edges: np.ndarray  # (m, 2) touching pairs i < j
    boundary_len: np.ndarray  # (m,) shared boundary length in pixels
    border: np.ndarray  # (n,) bool, touches the image border

    @property
    def n(self) -> int:
        return len(self.size)


def _touching_pairs(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of labels that touch horizontally or vertically, with their boundary length."""
    a = np.concatenate([labels[:, :-1].ravel(), labels[:-1, :].ravel()])
    b = np.concatenate([labels[:, 1:].ravel(), labels[1:, :].ravel()])
    keep = a != b
    lo, hi = np.minimum(a[keep], b[keep]), np.maximum(a[keep], b[keep])
    n = int(labels.max()) + 1
    pairs, counts = np.unique(lo.astype(np.int64) * n + hi, return_counts=True)
    return np.stack([pairs // n, pairs % n], axis=1), counts.astype(np.float64)


def superpixels(image: np.ndarray, n_segments: int | None = None) -> SuperpixelGraph:
    """SLIC superpixels of an RGB float image in [0, 1], labels relabelled to 0..n-1."""
    h, w = image.shape[:2]
    if n_segments is None:
        n_segments = int(np.clip(h * w / 250, 40, 400))
    lab_img = rgb2lab(image)
    labels = slic(lab_img, n_segments=n_segments, compactness=10, start_label=0, convert2lab=False)
    _, labels = np.unique(labels, return_inverse=True)
    labels = labels.reshape(h, w)
    n = int(labels.max()) + 1
    flat = labels.ravel()
    size = np.bincount(flat, minlength=n).astype(np.float64)
    lab = np.stack([np.bincount(flat, lab_img[..., c].ravel(), n) for c in range(3)], 1)
    lab /= size[:, None]
    yy, xx = np.mgrid[0:h, 0:w]
    cx = np.bincount(flat, (xx.ravel() + 0.5) / w, n) / size
    cy = np.bincount(flat, (yy.ravel() + 0.5) / h, n) / size
    edges, blen = _touching_pairs(labels)
    border = np.zeros(n, bool)
    border[np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))] = True
    return SuperpixelGraph(labels, lab, np.stack([cx, cy], 1), size, edges, blen, border)


def superpixel_saliency(g: SuperpixelGraph) -> np.ndarray:
    """Per-superpixel saliency in [0, 1] (Zhu et al. 2014, see the module docstring)."""
    n = g.n
    if n < 2:
        return np.zeros(n)
    d_app = np.linalg.norm(g.lab[:, None, :] - g.lab[None, :, :], axis=-1)
    i, j = g.edges[:, 0], g.edges[:, 1]
    bidx = np.flatnonzero(g.border)
    bi, bj = np.meshgrid(bidx, bidx, indexing="ij")
    up = bi < bj
    ei = np.concatenate([i, bi[up]])
    ej = np.concatenate([j, bj[up]])
    # a zero weight would drop the edge from the sparse graph: keep a tiny positive floor
    wts = np.maximum(d_app[ei, ej], 1e-6)
    graph = sparse.coo_matrix((wts, (ei, ej)), shape=(n, n)).tocsr()
    d_geo = shortest_path(graph, method="D", directed=False)
    d_geo[~np.isfinite(d_geo)] = 1e6
    k = np.exp(-(d_geo**2) / (2 * SIGMA_CLR**2))
    area = k.sum(1)
    len_bnd = k[:, g.border].sum(1)
    bnd_con = len_bnd / np.sqrt(area)
    w_bg = 1.0 - np.exp(-(bnd_con**2) / (2 * SIGMA_BND**2))
    d_spa2 = ((g.centre[:, None, :] - g.centre[None, :, :]) ** 2).sum(-1)
    w_ctr = (d_app * np.exp(-d_spa2 / (2 * SIGMA_SPA**2)) * w_bg[None, :]).sum(1)
    w_fg = w_ctr / w_ctr.max() if w_ctr.max() > 0 else w_ctr
    w_pq = np.exp(-(d_app[i, j] ** 2) / (2 * SIGMA_CLR**2)) + MU
    adj = sparse.coo_matrix((np.r_[w_pq, w_pq], (np.r_[i, j], np.r_[j, i])), shape=(n, n))
    lap = sparse.diags(np.asarray(adj.sum(1)).ravel()) - adj
    system = (sparse.diags(w_bg + w_fg) + lap).tocsc()
    s = spsolve(system, w_fg)
    s = np.nan_to_num(np.asarray(s, dtype=np.float64))
    lo, hi = s.min(), s.max()
    return (s - lo) / (hi - lo) if hi - lo > 1e-9 else np.zeros(n)


def saliency_map(
    image: np.ndarray, n_segments: int | None = None
) -> tuple[np.ndarray, SuperpixelGraph]:
    """Pixel saliency in [0, 1] of an RGB float image, and the superpixel graph it was built on."""
    g = superpixels(image, n_segments)
    s = superpixel_saliency(g)
    return s[g.labels], g
