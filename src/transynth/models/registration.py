"""The decorator that registers a method (timm's `@register_model` pattern).

It only records the class; :mod:`transynth.registry` looks names up, after importing the
built-in methods and any method packages installed beside transynth.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T", bound=type)

#: name -> class of every method registered so far.
REGISTERED: dict[str, type] = {}


def register_model(name: str) -> Callable[[T], T]:
    """Class decorator: make a method available to `create_model`, the CLI and the tests."""

    def wrap(cls: T) -> T:
        known = REGISTERED.get(name)
        if known is not None and known is not cls and not _same_definition(known, cls):
            raise ValueError(f"method {name!r} is registered twice ({known} and {cls})")
        cls.name = name
        REGISTERED[name] = cls
        return cls

    return wrap


def _same_definition(a: type, b: type) -> bool:
    # A module imported again under the same name (importlib.reload) redefines its class.
    return a.__module__ == b.__module__ and a.__qualname__ == b.__qualname__
