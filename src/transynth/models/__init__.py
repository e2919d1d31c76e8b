"""The built-in methods, one module per paper.

Each method module registers itself with ``@register_model``, and
:func:`transynth.registry.load_methods` imports every module of this package, so adding a
method needs no edit of a shared list.
"""

from transynth.models.base import Method, OptimizerSpec
from transynth.models.registration import register_model

__all__ = ["Method", "OptimizerSpec", "register_model"]
