"""The report's ground-truth figure: rows of input | translation | ground truth.

Drawn for every translator on a task with ground truth: paired tasks (the pair), unpaired tasks
whose test files share names between testA/ and testB/, and domains tasks whose test pictures
share names between domains (see :mod:`transynth.eval.ground_truth`). Nothing otherwise.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from transynth.eval.ground_truth import name_matches
from transynth.eval.multidomain import _generate
from transynth.eval.translation import translate_in_batches
from transynth.models.base import columns_grid

__all__ = ["ground_truth_grid"]


def _names(split: Any, domain: int) -> list[str] | None:
    listing = getattr(split, "file_names", None)
    return listing(domain) if listing is not None else None


def _two_domain_rows(model: Any, task: Any, rows: int) -> tuple[list[torch.Tensor], str]:
    x_a, _ = task.test.domain_tensors(0)
    x_b, _ = task.test.domain_tensors(1)
    if task.kind == "paired":
        x = x_a[:rows].float()
        return [x, translate_in_batches(model, x, "AtoB"), x_b[:rows].float()], "the test pair"
    directions = [("AtoB", x_a, x_b, 0, 1)]
    if bool(getattr(getattr(model, "capabilities", None), "bidirectional", False)):
        directions.append(("BtoA", x_b, x_a, 1, 0))
    per = max(1, rows // len(directions))
    cols: list[list[torch.Tensor]] = [[], [], []]
    for direction, xs, xt, s, t in directions:
        i, j = name_matches(_names(task.test, s), _names(task.test, t))
        if not i:
            continue
        i, j = i[:per], j[:per]
        x = xs[i].float()
        for col, img in zip(
            cols, (x, translate_in_batches(model, x, direction), xt[j]), strict=True
        ):
            col.append(img.float())
    if not cols[0]:
        return [], ""
    which = " then ".join(d for d, *_ in directions)
    return [torch.cat(c) for c in cols], f"the test file of the same name ({which})"


def _domain_rows(model: Any, task: Any, rows: int) -> tuple[list[torch.Tensor], str]:
    n = len(task.domains)
    names = [_names(task.test, k) for k in range(n)]
    images = [task.test.domain_tensors(k)[0] for k in range(n)]
    cols: list[list[torch.Tensor]] = [[], [], []]
    pairs = []
    for s in range(n):
        t = (s + 1) % n
        i, j = name_matches(names[s], names[t])
        if not i or s == t:
            continue
        i, j = i[: max(1, rows // n)], j[: max(1, rows // n)]
        x = images[s][i].float()
        c = model.labels.vector(0, F.one_hot(torch.full((len(x),), t), n).float())
        for col, img in zip(cols, (x, _generate(model, x, c), images[t][j]), strict=True):
            col.append(img.float())
        pairs.append(f"{task.domains[s].name}->{task.domains[t].name}")
    if not cols[0]:
        return [], ""
    return [torch.cat(c) for c in cols], f"the same picture in the target ({', '.join(pairs)})"


@torch.no_grad()
def ground_truth_grid(model: Any, task: Any, rows: int = 8) -> tuple[torch.Tensor, int, str] | None:
    """(grid, row length 3, caption) of input | translation | ground truth, or None without
    ground truth (or for a mask-vector StarGAN run)."""
    if task.kind in ("paired", "unpaired"):
        cols, truth = _two_domain_rows(model, task, rows)
    elif task.kind == "domains" and not getattr(model.labels, "mask", False):
        cols, truth = _domain_rows(model, task, rows)
    else:
        return None
    if not cols:
        return None
    grid, nrow = columns_grid(cols)
    caption = (
        f"Held-out test images: each row the input, its translation and the ground truth, {truth}."
    )
    return grid, nrow, caption
