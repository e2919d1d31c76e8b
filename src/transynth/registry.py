"""Name -> class lookup of methods: the built-in ones and those of other packages.

A method registers itself with ``@register_model`` (:mod:`transynth.models.registration`).
Looking a name up first imports the built-in methods (every module of :mod:`transynth.models`)
and the method modules of other packages, named either by an entry point in the group
``transynth.methods`` of an installed distribution or in the environment variable
``TRANSYNTH_METHODS`` (module names separated by commas). An unknown name is an error that lists
the known ones; it never prints and continues.
"""

from __future__ import annotations

import functools
import importlib
import os
import pkgutil
from importlib import metadata

from transynth.models.registration import REGISTERED, register_model

ENTRY_POINT_GROUP = "transynth.methods"
ENV_VAR = "TRANSYNTH_METHODS"

_loaded: set[str] = set()


@functools.cache
def _entry_point_modules() -> tuple[tuple[str, str], ...]:
    """(module name, where it was named) of the installed distributions' method modules (read
    once per process: scanning the installed distributions takes milliseconds)."""
    return tuple(
        (ep.value.split(":", 1)[0], f"entry point {ep.name!r} of group {ENTRY_POINT_GROUP}")
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)
    )


@functools.cache
def _builtin_modules() -> tuple[tuple[str, str], ...]:
    import transynth.models

    return tuple(
        (f"transynth.models.{m.name}", "transynth")
        for m in pkgutil.iter_modules(transynth.models.__path__)
        if not m.name.startswith("_")
    )


def _plugin_modules() -> list[tuple[str, str]]:
    """(module name, where it was named) of every method module outside transynth."""
    env = os.environ.get(ENV_VAR, "")
    named = [(m.strip(), f"${ENV_VAR}") for m in env.split(",") if m.strip()]
    return [*_entry_point_modules(), *named]


def load_methods() -> None:
    """Import the built-in methods and the method modules of other packages (once each)."""
    for module, origin in [*_builtin_modules(), *_plugin_modules()]:
        if module in _loaded:
            continue
        try:
            importlib.import_module(module)
        except ImportError as err:
            raise ValueError(
                f"cannot import method module {module!r} named by {origin}: {err}"
            ) from err
        _loaded.add(module)


def get_model_class(name: str) -> type:
    """The class registered under `name`; ValueError listing the known names otherwise."""
    load_methods()
    try:
        return REGISTERED[name]
    except KeyError:
        known = ", ".join(sorted(REGISTERED)) or "(none)"
        raise ValueError(f"unknown method {name!r}; known methods: {known}") from None


def list_models() -> list[str]:
    """Names of all registered methods, sorted."""
    load_methods()
    return sorted(REGISTERED)


__all__ = ["ENTRY_POINT_GROUP", "ENV_VAR", "get_model_class", "list_models", "register_model"]
