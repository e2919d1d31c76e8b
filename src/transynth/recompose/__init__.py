"""Photography recomposition: transfer the composition of a reference photo to an input photo.

Chang, Wang and Chen (ACM Multimedia 2014, 2015), the lecture's "beyond image translation"
example: foreground object discovery (:mod:`.saliency`, :mod:`.objects`), graph matching
(:mod:`.graph`, :mod:`.matching`), re-rendering (:mod:`.render`) and composition scores
(:mod:`.score`); :func:`recompose` runs them all. Independent of the GAN core.

    >>> from transynth.recompose import recompose
    >>> result = recompose("input.jpg", "reference.jpg")
    >>> result.image.save("out.png"); result.save_figure("out_figure.png")
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .api import RecomposeResult, recompose
    from .graph import SceneGraph
    from .matching import Matching, match_graphs
    from .objects import Discovery, SceneObject, discover_objects

# lazy: the command line imports this package without paying for scikit-image/scikit-learn
_EXPORTS = {
    "recompose": "api",
    "RecomposeResult": "api",
    "SceneGraph": "graph",
    "Matching": "matching",
    "match_graphs": "matching",
    "Discovery": "objects",
    "SceneObject": "objects",
    "discover_objects": "objects",
}

__all__ = [
    "Discovery",
    "Matching",
    "RecomposeResult",
    "SceneGraph",
    "SceneObject",
    "discover_objects",
    "match_graphs",
    "recompose",
]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
