"""What the domain-adaptation methods (UNIT, CDRD, E-CDRD, DTN) may read of their task.

They train with the labels of the SOURCE domain (A) only and are scored on the TARGET domain's
(B) labels, which training must never see. On the embedded digit tasks both domains are
labelled; on a user's unaligned folder (``trainA/<class>/*.png`` or ``labels.csv``) the target
may be labelled too (``trainB/<class>/``, ``testB/<class>/``). Two rules keep the protocol:

- :func:`without_target_labels`: each method's ``step`` reads its batch through it, so the
  target's training labels (``label_B``) are -1 whatever the folder holds; evaluation alone reads
  them (``target_train_accuracy_transductive``, labelled as such) and the test labels.
- :func:`check_labelled_source`: a method that learns from source labels refuses, before
  training, a task whose source training split has none, naming the folder and what to add.
"""

from __future__ import annotations

import os
from typing import Any

import torch

from transynth.data.datasets import FolderUnpairedDataset

SOURCE_LABELS, TARGET_LABELS = "label_A", "label_B"


def without_target_labels(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """`batch` with the target's labels replaced by -1 (unlabelled); the source's are kept."""
    y = batch.get(TARGET_LABELS)
    if y is None:
        return batch
    return {**batch, TARGET_LABELS: torch.full_like(y, -1)}


def _source_folder(task: Any) -> str | None:
    """The folder of the source's training images (trainA/), or None for in-memory data."""
    paths = task.train.file_paths(0) if hasattr(task.train, "file_paths") else None
    if not paths:
        return None
    return os.path.commonpath([os.path.dirname(os.path.abspath(p)) for p in paths])


def source_train_labelled(task: Any) -> bool:
    """Whether the source's TRAINING images carry labels (not only its test images)."""
    if task.domains[0].num_classes is None:
        return False
    if isinstance(task.train, FolderUnpairedDataset):  # labels known without decoding images
        return bool((task.train.labels[0] >= 0).any())
    return True  # in-memory tasks: a labelled domain is labelled in both splits


def labelled_source_error(method: str, task: Any, why: str, escape: str = "") -> ValueError:
    """The error for a task whose source training images have no labels."""
    folder = _source_folder(task)
    if folder is None:
        where = f"the source domain {task.domains[0].name!r} of task {task.name!r}"
        fix = "use a task whose source domain (A) is labelled, e.g. mnist2uci"
    else:
        where = f"the source folder {folder}"
        fix = (
            "put its images in class sub-folders (trainA/<class>/*.png) or list them in "
            "a labels.csv (header file,label; e.g. trainA/x.png,cat) at the data folder's root"
        )
    return ValueError(f"{method} {why}, but {where} has no labelled training images: {fix}{escape}")


def check_labelled_source(method: str, task: Any, why: str) -> None:
    """Refuse a task whose source training images carry no labels (see the module docstring)."""
    if not source_train_labelled(task):
        raise labelled_source_error(method, task, why)
