"""Freedesktop icon themes installed by Debian packages: the same standard icon names drawn by
different artists, used as real artwork with ground truth (a name drawn in two styles is a pair).

Only raster PNGs are read (no SVG renderer is a dependency): for each theme and icon name, the
largest square PNG anywhere in the theme (any context folder, symlinked aliases included). A task
of size S uses a name only where every theme it reads has a PNG of at least S pixels: icons are
never upscaled, only downscaled (LANCZOS).

Splits are by name and the same in every task: names whose chosen PNGs are the same image in any
supported theme (a symlinked alias, or a copied file: compared by content) form one group
(union-find), and a group goes to test when a seeded hash of its smallest name falls in the test
fifth. So a name has one split everywhere, and no image of a test name is a training image.
The groups are computed over the supported themes that are installed; CI installs them all.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import pathlib
import re
import struct
from dataclasses import dataclass

import numpy as np
from PIL import Image

#: Where the themes are looked up; ``$TRANSYNTH_ICON_DIR`` overrides it (themes installed
#: elsewhere, tests).
DEFAULT_ICON_DIR = "/usr/share/icons"
ENV_VAR = "TRANSYNTH_ICON_DIR"

#: Composited under every icon. Light neutral grey rather than white or black: icons carry white
#: highlights and dark outlines / drop shadows that would vanish into a white or black ground; a
#: neutral grey adds no hue for a translation to learn, and it is the same in every style, so the
#: background is never a style cue (a translator should map it to itself).
BACKGROUND = (236, 236, 236)
#: Fixes the name split; changing it changes every icon task (bump SPLIT_VERSION with it).
SPLIT_SEED = "transynth-icons-2024"
TEST_FRACTION = 0.2
#: In the cache key of every icon task: change when names, splits or rendering change.
SPLIT_VERSION = "1"


@dataclass(frozen=True)
class Theme:
    """One supported icon theme: where it lives and which Debian package installs it."""

    key: str  # short name used in task names
    folder: str  # its PNG folders, under the icon dir
    package: str  # `apt-get install` name
    label: str  # human name (artist / project)
    index: str = ""  # its index.theme under the icon dir, when not in `folder`


#: Chosen for the number of names drawn as DISTINCT images in several of them (many names of a
#: theme are aliases of one drawing) and for being different drawings (measured in
#: tests/test_artwork_tasks.py). gnome-icon-theme is left out: nearly the same drawings as MATE;
#: lxde's nuoveXT2 too: few distinct drawings; Tango: PNGs of 32 px at most.
THEMES: dict[str, Theme] = {
    t.key: t
    for t in (
        Theme("mate", "mate", "mate-icon-theme", "MATE (GNOME 2 style)"),
        Theme("faenza", "Faenza", "faenza-icon-theme", "Faenza (tiheum)"),
        Theme("moka", "Moka", "moka-icon-theme", "Moka (Sam Hewitt)"),
        Theme("elementary", "elementary-xfce", "elementary-xfce-icon-theme", "elementary Xfce"),
        Theme("oxygen", "oxygen/base", "oxygen-icon-theme", "Oxygen (KDE)", "oxygen/index.theme"),
    )
}

_SIZE_DIR = re.compile(r"^(\d+)(?:x\d+)?(?:@(\d)x)?$")
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def icon_dir() -> pathlib.Path:
    """The folder holding the themes (``$TRANSYNTH_ICON_DIR`` or /usr/share/icons)."""
    return pathlib.Path(os.environ.get(ENV_VAR) or DEFAULT_ICON_DIR)


def theme_root(key: str) -> pathlib.Path:
    """The folder of theme `key` (ValueError for an unknown key, naming the known ones)."""
    if key not in THEMES:
        raise ValueError(f"unknown icon theme {key!r}; known: {', '.join(THEMES)}")
    return icon_dir() / THEMES[key].folder


def theme_installed(key: str) -> bool:
    """Whether the theme's index.theme and PNG folder exist."""
    index = THEMES[key].index if key in THEMES else ""
    root = theme_root(key)
    return root.is_dir() and (icon_dir() / index if index else root / "index.theme").is_file()


def missing_themes(keys: tuple[str, ...] | list[str]) -> list[str]:
    """The keys among `keys` whose theme is not installed."""
    return [k for k in keys if not theme_installed(k)]


def install_hint(keys: tuple[str, ...] | list[str]) -> str:
    """``apt-get install -y PKG ...`` for the themes `keys` (deduplicated, in order)."""
    pkgs = list(dict.fromkeys(THEMES[k].package for k in keys))
    return "apt-get install -y " + " ".join(pkgs)


def package_version(key: str) -> str | None:
    """The Debian version of the theme's package (first line of its changelog), if readable."""
    path = pathlib.Path("/usr/share/doc") / THEMES[key].package / "changelog.Debian.gz"
    try:
        with gzip.open(path, "rt", errors="replace") as f:
            first = f.readline()
    except (OSError, EOFError):
        return None
    m = re.search(r"\(([^)]+)\)", first)
    return m.group(1) if m else None


def png_size(path: str | os.PathLike) -> tuple[int, int] | None:
    """(width, height) read from a PNG header, or None if the file is not a PNG."""
    with open(path, "rb") as f:
        head = f.read(24)
    if len(head) < 24 or head[:8] != _PNG_MAGIC:
        return None
    w, h = struct.unpack(">II", head[16:24])
    return int(w), int(h)


def _nominal_size(rel_dir: str) -> int | None:
    """The pixel size a theme folder path names (``256x256``, ``64``, ``32x32@2x`` = 64)."""
    for part in rel_dir.split(os.sep):
        m = _SIZE_DIR.match(part)
        if m:
            return int(m.group(1)) * int(m.group(2) or 1)
    return None


@functools.cache
def _scan(root: str, min_size: int) -> dict[str, tuple[int, str]]:
    best: dict[str, tuple[int, str]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        nominal = _nominal_size(os.path.relpath(dirpath, root))
        if nominal is not None and nominal < min_size:
            continue  # folder of small icons: skip without reading any header
        for f in sorted(filenames):
            if not f.endswith(".png"):
                continue
            try:
                real = os.path.realpath(os.path.join(dirpath, f))
                size = png_size(real)
            except OSError:
                continue  # a dangling alias
            if size is None or size[0] != size[1] or size[0] < min_size:
                continue
            name = f[:-4]
            if name not in best or size[0] > best[name][0]:
                best[name] = (size[0], real)
    return best


def theme_icons(key: str, min_size: int = 64) -> dict[str, tuple[int, str]]:
    """{icon name: (side in px, resolved PNG path)} of the largest square PNG per name.

    Only names with a PNG of at least `min_size` px; read once per process.
    """
    if not theme_installed(key):
        raise FileNotFoundError(
            f"icon theme {THEMES[key].label} is not installed (no {theme_root(key)}); install "
            f"it with: {install_hint([key])}"
        )
    return _scan(str(theme_root(key)), min_size)


def _file_digest(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha1(f.read()).hexdigest()


@functools.lru_cache(maxsize=8)
def _groups(root: str, keys: tuple[str, ...]) -> dict[str, str]:
    parent: dict[str, str] = {}

    def find(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for key in keys:
        by_image: dict[str, str] = {}
        for name, (_, path) in sorted(theme_icons(key).items()):
            parent.setdefault(name, name)
            first = by_image.setdefault(_file_digest(path), name)
            a, b = find(first), find(name)
            if a != b:
                parent[max(a, b)] = min(a, b)  # the root is the group's smallest name
    return {n: find(n) for n in parent}


def name_groups() -> dict[str, str]:
    """{icon name: the smallest name of its group} over the installed supported themes."""
    keys = tuple(k for k in THEMES if theme_installed(k))
    return _groups(str(icon_dir()), keys)


def hashed_fraction(text: str) -> float:
    """A seeded, platform-independent hash of `text` mapped to [0, 1)."""
    digest = hashlib.sha256(f"{SPLIT_SEED}:{text}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_of(name: str, groups: dict[str, str] | None = None) -> str:
    """ "train" or "test": the split of an icon name (by its group's smallest name)."""
    group = (groups if groups is not None else name_groups()).get(name, name)
    return "test" if hashed_fraction(group) < TEST_FRACTION else "train"


def render_icon(path: str | os.PathLike, size: int, background=BACKGROUND) -> np.ndarray:
    """uint8 (size, size, 3): the icon composited over `background`, downscaled with LANCZOS.

    Alpha (and palette transparency) is composited at the source resolution, then the opaque
    result is resized, so edges blend into the background as they would on screen.

    Raises:
        ValueError: the PNG is smaller than `size` (icons are never upscaled) or not square.
    """
    with Image.open(path) as im:
        w, h = im.size
        if w != h:
            raise ValueError(f"icon {path} is {w}x{h}, not square")
        if w < size:
            raise ValueError(f"icon {path} is {w} px, smaller than {size}: never upscaled")
        rgba = im.convert("RGBA")
    ground = Image.new("RGBA", rgba.size, (*background, 255))
    out = Image.alpha_composite(ground, rgba).convert("RGB")
    if w != size:
        out = out.resize((size, size), Image.LANCZOS)
    return np.asarray(out, dtype=np.uint8)
