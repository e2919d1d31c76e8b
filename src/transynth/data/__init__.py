"""Data for transynth: embedded digit domains and tasks (prepared offline from data bundled in
installed packages), real-image tasks (icon themes installed with apt, bundled photos; cached as
folders) and user folders in the standard layouts.

Everything is built with :func:`build_task`; images are float32 tensors in [-1, 1].
"""

from __future__ import annotations

import os
import pathlib

from .artwork import ARTWORK, artwork_description, artwork_unavailable, build_artwork, materialise
from .cache import cache_dir
from .domains import DOMAINS, domain_ready, domain_unavailable, load_domain
from .folders import LAYOUT_HELP, LAYOUTS, build_folder_task, detect_layout
from .imageio import image_to_tensor, load_image, save_grid, tensor_to_image
from .multidomain import MULTIDOMAIN_DESCRIPTIONS, MULTIDOMAIN_KINDS, STYLE_DOMAINS
from .native_size import folder_native_size, native_size
from .tasks import DESCRIPTIONS, PAIRED, UNPAIRED, build_embedded, task_names, task_ready
from .types import KINDS, DomainInfo, SampleIndex, SplitDataset, TaskData

__all__ = [
    "KINDS",
    "LAYOUTS",
    "DomainInfo",
    "SampleIndex",
    "SplitDataset",
    "TaskData",
    "build_task",
    "cache_dir",
    "detect_layout",
    "folder_native_size",
    "image_to_tensor",
    "list_datasets",
    "load_domain",
    "load_image",
    "native_size",
    "prepare",
    "save_grid",
    "tensor_to_image",
]


def build_task(
    name_or_path: str,
    image_size: int,
    *,
    layout: str | None = None,
    seed: int = 0,
    channels: int | None = None,
) -> TaskData:
    """A named embedded task or a user folder, ready for training and evaluation.

    Args:
        name_or_path: an embedded task name (see :func:`list_datasets`) or a folder path. A
            known name wins over a folder of the same name; write ``./name`` for the folder.
        image_size: height and width of every image.
        layout: force a folder layout (one of ``LAYOUTS``) instead of detecting it.
        seed: seeds folder splits that the folder does not define and folder augmentation
            (embedded data are fixed and do not depend on it).
        channels: force 1 or 3 channels for every domain (gray repeated / RGB luminance);
            embedded domains keep their own count and folders default to RGB otherwise.

    Raises:
        ValueError: unknown name that is not a folder (lists the known names and layouts), a
            folder that matches no layout, or unreadable / inconsistent files (named).
    """
    if image_size < 1:
        raise ValueError(f"image_size must be positive, got {image_size}")
    if channels not in (None, 1, 3):
        raise ValueError(f"channels must be 1, 3 or None, got {channels}")
    name = os.fspath(name_or_path)
    if layout is None and name in ARTWORK:
        return build_artwork(name, image_size, seed=seed, channels=channels)
    if layout is None and name in task_names():
        return build_embedded(name, image_size, channels)
    path = pathlib.Path(name).expanduser()
    if path.is_dir():
        return build_folder_task(path, image_size, layout=layout, seed=seed, channels=channels)
    if path.exists():
        raise ValueError(f"{name} is a file, not a folder; {LAYOUT_HELP}")
    raise ValueError(
        f"unknown task {name!r}: not an embedded task and no such folder. Known tasks: "
        f"{', '.join(task_names())}. Or give a folder path; {LAYOUT_HELP}"
    )


def list_datasets() -> list[dict]:
    """Embedded domains and tasks: {"name", "type", "kind", "description", "ready", "installed"}.

    "ready" tells whether the data are prepared in :func:`cache_dir` (preparing takes seconds);
    "installed" whether what it is read from is here: for a domain read from an external install
    (``fashion-mnist``) or a real-image task read from icon themes, when it is not, the
    description says so and how to install it.
    """
    out = [
        {
            "name": n,
            "type": "domain",
            "kind": "classes",
            "description": d.description + (f" [{why}]" if (why := domain_unavailable(n)) else ""),
            "ready": domain_ready(n),
            "installed": not domain_unavailable(n),
        }
        for n, d in DOMAINS.items()
    ]
    for n in [*UNPAIRED, *PAIRED, *MULTIDOMAIN_DESCRIPTIONS]:
        out.append(
            {
                "name": n,
                "type": "task",
                "kind": MULTIDOMAIN_KINDS.get(n, "unpaired" if n in UNPAIRED else "paired"),
                "description": DESCRIPTIONS[n],
                "ready": task_ready(n),
                "installed": True,
            }
        )
    for n, spec in ARTWORK.items():
        why = artwork_unavailable(n)
        out.append(
            {
                "name": n,
                "type": "task",
                "kind": spec.kind,
                "description": artwork_description(n) + (f" [{why}]" if why else ""),
                "ready": task_ready(n),
                "installed": not why,
            }
        )
    return out


def prepare(names: list[str] | None = None) -> None:
    """Prepare (and cache) embedded domains, paired tasks and, when named, real-image task
    folders. By default: every domain and paired task (seconds); the real-image tasks (about a
    minute for all) are written on first use unless named here.

    Domains read from an external install (``fashion-mnist``) are only checked: by default they
    are skipped when not installed; named explicitly, a missing install (or a real-image task's
    missing icon theme) raises FileNotFoundError naming the package.
    """
    from .domains import domain_arrays
    from .tasks import paired_arrays

    if names is None or not names:
        names = [n for n in [*DOMAINS, *PAIRED] if n not in DOMAINS or not domain_unavailable(n)]
    for n in names:
        if n in ARTWORK:
            materialise(n)
        elif n in DOMAINS:
            domain_arrays(n)
        elif n in PAIRED:
            paired_arrays(n)
        elif n in UNPAIRED or n in MULTIDOMAIN_DESCRIPTIONS:
            for d in UNPAIRED.get(n, STYLE_DOMAINS):
                domain_arrays(d)
        else:
            raise ValueError(f"unknown embedded dataset {n!r}; known: {', '.join(task_names())}")
