"""The on-disk cache of prepared embedded data: versioned ``.npz`` files written atomically."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable

import numpy as np

from transynth.fileio import atomic_path

#: In-process memo of loaded cache files, keyed by absolute path (so a changed cache dir reloads).
_MEMO: dict[str, dict[str, np.ndarray]] = {}


def _root() -> pathlib.Path:
    env = os.environ.get("TRANSYNTH_CACHE")
    return pathlib.Path(env).expanduser() if env else pathlib.Path.home() / ".cache" / "transynth"


def cache_dir() -> pathlib.Path:
    """``$TRANSYNTH_CACHE`` or ``~/.cache/transynth``, created on demand."""
    path = _root()
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_path(name: str, version: int | str) -> pathlib.Path:
    """Where the prepared arrays of `name` at `version` live (the version is in the file name)."""
    return cache_dir() / f"{name}-v{version}.npz"


def is_cached(name: str, version: int | str) -> bool:
    """Whether `name` has been prepared into the current cache dir (creates nothing)."""
    return (_root() / f"{name}-v{version}.npz").is_file()


def save_npz_atomic(path: pathlib.Path, arrays: dict[str, np.ndarray]) -> None:
    """Write `arrays` to `path` through a temporary file and ``os.replace``."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)  # uncompressed: loads several times faster, files stay small


def cached_arrays(
    name: str, version: int | str, build: Callable[[], dict[str, np.ndarray]]
) -> dict[str, np.ndarray]:
    """The arrays of `name`: from memory, else from the cache file, else built and cached.

    A cache file that cannot be read (truncated, foreign) is rebuilt rather than trusted.
    """
    path = cache_path(name, version)
    key = str(path.resolve())
    if key in _MEMO and path.is_file():
        return _MEMO[key]
    arrays = None
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as f:
                arrays = {k: f[k] for k in f.files}
        except (OSError, ValueError, EOFError):
            arrays = None
    if arrays is None:
        arrays = {k: np.ascontiguousarray(v) for k, v in build().items()}
        save_npz_atomic(path, arrays)
    _MEMO[key] = arrays
    return arrays


def clear_memo() -> None:
    """Forget arrays loaded in this process (the files stay)."""
    _MEMO.clear()
