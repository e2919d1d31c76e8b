"""Figures methods add to their run report: ``folder/NAME.png`` plus a ``NAME.txt`` caption.

- :func:`save_figure`: an image grid (a tensor from ``columns_grid``/``traversal_grid``) or a
  matplotlib figure, with its caption;
- :func:`tsne_figure`: a 2-D t-SNE of features (e.g. UNIT's shared latent, CDRD's D_C features)
  coloured by domain in one panel and by class in the other, as in the lecture's CDRD slide.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from transynth.fileio import atomic_path, atomic_write_text


def save_figure(folder: Path | str, name: str, figure: Any, caption: str, nrow: int = 8) -> Path:
    """Write `figure` (an image tensor (N, C, H, W) in [-1, 1] or a matplotlib Figure) as
    ``folder/name.png`` with its caption in ``folder/name.txt``; returns the PNG's path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    if isinstance(figure, torch.Tensor):
        from transynth.data import save_grid

        save_grid(figure.float().cpu(), path, nrow)
    else:
        import matplotlib.pyplot as plt

        with atomic_path(path) as tmp:
            figure.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
        plt.close(figure)
    atomic_write_text(folder / f"{name}.txt", caption)
    return path


def tsne_embedding(features: np.ndarray, seed: int = 0) -> np.ndarray:
    """2-D t-SNE of (N, D) features (PCA to 50 dimensions first when D is larger)."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    x = np.asarray(features, dtype=np.float32).reshape(len(features), -1)
    components = min(50, *x.shape)
    if x.shape[1] > components:
        x = PCA(components, random_state=seed).fit_transform(x)
    perplexity = float(min(30, max(2, (len(x) - 1) // 3)))
    return TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(x)


def tsne_figure(
    features: np.ndarray | torch.Tensor,
    domain_ids: np.ndarray | torch.Tensor,
    labels: np.ndarray | torch.Tensor,
    domain_names: Sequence[str],
    title: str,
    seed: int = 0,
) -> Any:
    """A matplotlib figure: t-SNE of `features`, coloured by domain (left) and class (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def as_np(v: Any) -> np.ndarray:
        return v.detach().float().cpu().numpy() if isinstance(v, torch.Tensor) else np.asarray(v)

    xy = tsne_embedding(as_np(features), seed)
    domains, classes = as_np(domain_ids).astype(int), as_np(labels).astype(int)
    markers = "o^sDv*"
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
    for d, name in enumerate(domain_names):
        sel = domains == d
        axes[0].scatter(*xy[sel].T, s=6, alpha=0.6, label=name, marker=markers[d % len(markers)])
        axes[1].scatter(
            *xy[sel].T,
            s=6,
            c=classes[sel],
            cmap="tab10",
            vmin=0,
            vmax=9,
            alpha=0.7,
            marker=markers[d % len(markers)],
        )
    axes[0].legend(markerscale=3, fontsize=8)
    axes[0].set_title("coloured by domain")
    axes[1].set_title("coloured by class (marker = domain)")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title)
    fig.tight_layout()
    return fig
