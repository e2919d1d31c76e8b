"""Name -> class registry for methods (timm's `@register_model` pattern).

An unknown name is an error that lists the known ones; it never prints and continues.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T", bound=type)

_MODELS: dict[str, type] = {}


def register_model(name: str) -> Callable[[T], T]:
    """Class decorator: make a method available to `create_model`, the CLI and the tests."""

    def wrap(cls: T) -> T:
        if name in _MODELS and _MODELS[name] is not cls:
            raise ValueError(f"method {name!r} is registered twice ({_MODELS[name]} and {cls})")
        cls.name = name
        _MODELS[name] = cls
        return cls

    return wrap


def _import_builtin_models() -> None:
    # Importing the package registers every built-in method (each file applies the decorator).
    import transynth.models  # noqa: F401


def get_model_class(name: str) -> type:
    """The class registered under `name`; ValueError listing the known names otherwise."""
    _import_builtin_models()
    try:
        return _MODELS[name]
    except KeyError:
        known = ", ".join(sorted(_MODELS)) or "(none)"
        raise ValueError(f"unknown method {name!r}; known methods: {known}") from None


def list_models() -> list[str]:
    """Names of all registered methods, sorted."""
    _import_builtin_models()
    return sorted(_MODELS)
