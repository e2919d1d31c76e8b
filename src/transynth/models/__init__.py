"""Every built-in method; importing this package registers them.

Each method lives in its own module here and registers itself with ``@register_model``; every
module of this package is imported, so adding a method needs no edit of a shared list.
"""

import importlib
import pkgutil

from transynth.models.base import Method, OptimizerSpec

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if _module != "base" and not _module.startswith("_"):
        importlib.import_module(f"{__name__}.{_module}")

__all__ = ["Method", "OptimizerSpec"]
