"""The data contract every method and the trainer rely on.

Images are float32 tensors in [-1, 1], shape (C, H, W) per item, C in {1, 3}.

A split dataset is indexed by a :class:`SampleIndex`: the trainer's sampler draws one index per
*index space* (paired data has one space, unpaired data one per domain, so domains are shuffled
independently) plus a global sample counter that seeds any random augmentation of that item. This
keeps the data order and the augmentation a pure function of (seed, step), so an interrupted run
resumes on exactly the batches it would have seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch.utils.data import Dataset

#: The kinds of data a task can provide.
#: paired: {"A", "B", "label"}; unpaired: {"A", "B", "label_A", "label_B"};
#: classes: {"image", "label"}; domains: {"image", "domain", "label"};
#: attributes: {"image", "attrs"} (attrs a float vector of 0/1).
KINDS = ("paired", "unpaired", "classes", "domains", "attributes")


class SampleIndex(NamedTuple):
    """What the sampler yields for one item."""

    counter: int  # global sample number; seeds per-item augmentation
    indices: tuple[int, ...]  # one index per index space of the dataset


@dataclass(frozen=True)
class DomainInfo:
    """One image domain of a task."""

    name: str
    channels: int
    num_classes: int | None = None  # None when the domain has no class labels
    class_names: tuple[str, ...] = ()


class SplitDataset(Dataset):
    """Base class of a train or test split. Subclasses fill the attributes and `__getitem__`."""

    #: Sizes of the independent index spaces (paired/classes: (n,); unpaired: (n_A, n_B)).
    index_sizes: tuple[int, ...]

    def __len__(self) -> int:
        return max(self.index_sizes) if self.index_sizes else 0

    def __getitem__(self, index: SampleIndex) -> dict[str, torch.Tensor]:  # pragma: no cover
        raise NotImplementedError

    def domain_tensors(self, domain: int | str) -> tuple[torch.Tensor, torch.Tensor]:
        """All images of one domain (N, C, H, W) and their labels (N,), -1 where unlabelled.

        Used by evaluation; for folder data this reads every file of that domain of the split.
        """
        raise NotImplementedError  # pragma: no cover

    def file_names(self, domain: int | str) -> list[str] | None:
        """The file name key of each image of `domain`, in the order of :meth:`domain_tensors`,
        or None for data without files (in-memory tensors).

        The key is the file's path relative to its domain's folder, without extension and with
        ``/`` separators, and without the class folder when labels come from class folders
        (``testA/cat/x.png`` -> ``x``): the same picture in testA/ and testB/, or in every
        domain folder, has the same key, so evaluation can match it with its ground truth.
        """
        return None

    def file_paths(self, domain: int | str) -> list[str] | None:
        """The files of `domain` in the order of :meth:`domain_tensors` (None without files)."""
        return None


@dataclass
class TaskData:
    """A named task or a user folder, ready for training and evaluation."""

    name: str
    kind: str  # one of KINDS
    domains: tuple[DomainInfo, ...]  # (A, B) for translation tasks; all domains otherwise
    image_size: int
    train: SplitDataset
    test: SplitDataset
    description: str = ""
    attribute_names: tuple[str, ...] = ()  # for kind == "attributes"

    @property
    def channels(self) -> tuple[int, ...]:
        return tuple(d.channels for d in self.domains)
