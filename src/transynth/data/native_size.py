"""The native resolution of a task: the side its images have before anything resizes them.

Presets sized to the data (:mod:`transynth.training.sizing`) train at this side up to a cap,
instead of the digits' 32 px. For a folder it is read from image headers only (nothing is
decoded): the median of ``min(width, height)`` over the folder's images, or over an evenly
spaced sample of at most `max_files` of them in a huge folder; an aligned folder's images hold
A|B side by side, so each half counts (``min(width / 2, height)``). An embedded task's side is
its domains' (28 px MNIST, 32 px printed digits, ...).

A named real-image task (:mod:`transynth.data.artwork`) has the side its spec declares (the
side its cached folder is written at), so sizing a run does not need the folder built.
"""

from __future__ import annotations

import os
import pathlib

import numpy as np

from .artwork import ARTWORK
from .domains import DOMAINS
from .folders import LAYOUT_HELP, LAYOUTS, detect_layout
from .imageio import image_size_of, is_image_file
from .multidomain import MULTIDOMAIN_DESCRIPTIONS, STYLE_DOMAINS
from .tasks import PAIRED, UNPAIRED, paired_arrays, task_names

#: Headers read at most per folder (evenly spaced over its sorted files).
MAX_FILES = 256


def _image_files(root: pathlib.Path) -> list[str]:
    """Every image under `root` (hidden files and folders skipped), sorted."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        out.extend(os.path.join(dirpath, f) for f in sorted(filenames) if is_image_file(f))
    return out


def _sample(files: list[str], max_files: int) -> list[str]:
    if len(files) <= max_files:
        return files
    picks = np.linspace(0, len(files) - 1, max_files).round().astype(int)
    return [files[i] for i in dict.fromkeys(picks.tolist())]


def folder_native_size(
    root: str | os.PathLike, *, layout: str | None = None, max_files: int = MAX_FILES
) -> int:
    """The typical side of a folder task's images (see the module docstring).

    Raises:
        ValueError: `root` is no folder, matches no layout, holds no image, or holds an image
            whose header cannot be read (named).
    """
    root = pathlib.Path(root).expanduser()
    if layout is None:
        layout = detect_layout(root)  # raises, naming the folder and the accepted layouts
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; {LAYOUT_HELP}")
    files = _image_files(root)
    if not files:
        raise ValueError(f"no images found in folder {root}; {LAYOUT_HELP}")
    sides = []
    for path in _sample(files, max(1, max_files)):
        width, height = image_size_of(path)
        sides.append(min(width // 2 if layout == "aligned" else width, height))
    return int(np.median(sides))


def embedded_native_size(name: str) -> int | None:
    """The side of an embedded task's source images, or None for a name that is not one."""
    if name in DOMAINS:
        return DOMAINS[name].native_size
    if name in UNPAIRED:
        return max(DOMAINS[d].native_size for d in UNPAIRED[name])
    if name in PAIRED:
        return int(paired_arrays(name)["a_train"].shape[1])  # NHWC
    if name in ARTWORK:
        return ARTWORK[name].size
    if name in MULTIDOMAIN_DESCRIPTIONS:  # digit styles / attributes: rendered from the domains
        return max(DOMAINS[d].native_size for d in STYLE_DOMAINS)
    return None


def native_size(
    name_or_path: str | os.PathLike,
    *,
    layout: str | None = None,
    max_files: int = MAX_FILES,
) -> int:
    """The native side of a task: an embedded task's, a named folder task's or a folder's.

    Names are resolved as :func:`transynth.data.build_task` resolves them: a known embedded name
    wins over a folder of the same name (unless `layout` forces a folder).

    Raises:
        ValueError: an unknown name that is no folder, or a folder that cannot be read.
    """
    name = os.fspath(name_or_path)
    if layout is None:
        embedded = embedded_native_size(name)
        if embedded is not None:
            return embedded
    path = pathlib.Path(name).expanduser()
    if path.is_dir():
        return folder_native_size(path, layout=layout, max_files=max_files)
    if path.exists():
        raise ValueError(f"{name} is a file, not a folder; {LAYOUT_HELP}")
    raise ValueError(  # the words of build_task, which would refuse the name the same way
        f"unknown task {name!r}: not an embedded task and no such folder. Known tasks: "
        f"{', '.join(task_names())}. Or give a folder path; {LAYOUT_HELP}"
    )
