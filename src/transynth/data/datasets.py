"""SplitDataset implementations: in-memory tensors (embedded data) and lazy folder readers.

Indexing follows :mod:`transynth.data.types`: ``dataset[SampleIndex(counter, indices)]`` with one
index per index space. A plain ``int`` i is also accepted (as ``SampleIndex(i, (i, i, ...))``,
each index taken modulo its space) so the datasets work with a default DataLoader sampler too.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image

from .imageio import image_to_tensor, load_image, to_float
from .types import DomainInfo, SampleIndex, SplitDataset

#: CycleGAN's load size ratio: resize to round(size * 286 / 256), then random-crop `size`.
LOAD_RATIO = 286 / 256


def _indices(ds: SplitDataset, index: SampleIndex | int) -> tuple[int, int]:
    """(counter, per-space indices) of an index, validated against the index spaces."""
    if isinstance(index, (int, np.integer)):
        counter, idx = int(index), tuple(int(index) % max(n, 1) for n in ds.index_sizes)
    else:
        counter, idx = int(index[0]), tuple(int(i) for i in index[1])
    if len(idx) < len(ds.index_sizes):
        raise IndexError(f"expected {len(ds.index_sizes)} indices, got {len(idx)}")
    for i, n in zip(idx, ds.index_sizes, strict=False):
        if not -n <= i < n:
            raise IndexError(f"index {i} out of range for an index space of size {n}")
    return counter, idx


def _label(v: int) -> torch.Tensor:
    return torch.tensor(int(v), dtype=torch.int64)


class _DomainNames:
    """Resolve ``domain_tensors`` arguments: an int, "A"/"B", or a domain name."""

    domain_names: tuple[str, ...] = ()

    def _domain_index(self, domain: int | str) -> int:
        names = self.domain_names
        if isinstance(domain, (int, np.integer)):
            if 0 <= int(domain) < len(names):
                return int(domain)
        elif domain in names:
            return names.index(domain)
        elif domain in ("A", "B")[: len(names)]:
            return ("A", "B").index(domain)
        raise ValueError(f"unknown domain {domain!r}; this split has domains {list(names)}")


# --------------------------------------------------------------------------------------------
# In-memory datasets (embedded data). Images are kept as uint8 (N, C, H, W) at the final size.


class TensorClassesDataset(_DomainNames, SplitDataset):
    """Single-domain labelled images: items {"image", "label"}."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, domain_name: str) -> None:
        self.images, self.labels = images, labels.to(torch.int64)
        self.index_sizes = (len(images),)
        self.domain_names = (domain_name,)

    def __getitem__(self, index: SampleIndex | int) -> dict[str, torch.Tensor]:
        _, (i, *_) = _indices(self, index)
        return {"image": to_float(self.images[i]), "label": self.labels[i].clone()}

    def domain_tensors(self, domain: int | str = 0) -> tuple[torch.Tensor, torch.Tensor]:
        self._domain_index(domain)
        return to_float(self.images), self.labels.clone()


class TensorPairedDataset(_DomainNames, SplitDataset):
    """Aligned pairs: items {"A", "B", "label"}."""

    def __init__(
        self, a: torch.Tensor, b: torch.Tensor, labels: torch.Tensor, names: tuple[str, str]
    ) -> None:
        if len(a) != len(b) or len(a) != len(labels):
            raise ValueError("paired data needs as many A images as B images and labels")
        self.a, self.b, self.labels = a, b, labels.to(torch.int64)
        self.index_sizes = (len(a),)
        self.domain_names = names

    def __getitem__(self, index: SampleIndex | int) -> dict[str, torch.Tensor]:
        _, (i, *_) = _indices(self, index)
        return {"A": to_float(self.a[i]), "B": to_float(self.b[i]), "label": self.labels[i].clone()}

    def domain_tensors(self, domain: int | str) -> tuple[torch.Tensor, torch.Tensor]:
        d = self._domain_index(domain)
        return to_float(self.a if d == 0 else self.b), self.labels.clone()


class TensorUnpairedDataset(_DomainNames, SplitDataset):
    """Two independently indexed domains: items {"A", "B", "label_A", "label_B"}."""

    def __init__(
        self,
        a: torch.Tensor,
        labels_a: torch.Tensor,
        b: torch.Tensor,
        labels_b: torch.Tensor,
        names: tuple[str, str],
    ) -> None:
        self.a, self.la = a, labels_a.to(torch.int64)
        self.b, self.lb = b, labels_b.to(torch.int64)
        self.index_sizes = (len(a), len(b))
        self.domain_names = names

    def __getitem__(self, index: SampleIndex | int) -> dict[str, torch.Tensor]:
        _, (i, j, *_) = _indices(self, index)
        return {
            "A": to_float(self.a[i]),
            "B": to_float(self.b[j]),
            "label_A": self.la[i].clone(),
            "label_B": self.lb[j].clone(),
        }

    def domain_tensors(self, domain: int | str) -> tuple[torch.Tensor, torch.Tensor]:
        d = self._domain_index(domain)
        return (
            (to_float(self.a), self.la.clone()) if d == 0 else (to_float(self.b), self.lb.clone())
        )


# --------------------------------------------------------------------------------------------
# Folder datasets: file paths are listed when the task is built; files are decoded per item.


class _FolderReader:
    """Loads files at a fixed size, with CycleGAN-style augmentation on the train split.

    Train: resize to load_size = round(size * 286 / 256), random crop `size`, random horizontal
    flip; the randomness comes only from (seed, counter, stream). Test: plain resize.
    """

    def __init__(self, image_size: int, channels: int, train: bool, seed: int) -> None:
        self.image_size, self.channels, self.train, self.seed = image_size, channels, train, seed
        self.load_size = max(image_size, round(image_size * LOAD_RATIO))

    def params(self, counter: int, stream: int) -> tuple[int, int, bool] | None:
        """Crop offsets and flip for one item, or None on the test split."""
        if not self.train:
            return None
        rng = np.random.default_rng(
            [self.seed % 2**32, self.seed // 2**32 % 2**31, counter, stream]
        )
        span = self.load_size - self.image_size
        x, y = (int(v) for v in rng.integers(0, span + 1, size=2))
        return x, y, bool(rng.random() < 0.5)

    def open(self, path: str | os.PathLike) -> Image.Image:
        return load_image(path, "L" if self.channels == 1 else "RGB")

    def transform(self, img: Image.Image, params: tuple[int, int, bool] | None) -> torch.Tensor:
        s = self.image_size
        if params is None:
            img = img.resize((s, s), Image.BICUBIC)
        else:
            x, y, flip = params
            img = img.resize((self.load_size, self.load_size), Image.BICUBIC)
            img = img.crop((x, y, x + s, y + s))
            if flip:
                img = img.transpose(Image.FLIP_LEFT_RIGHT)
        return image_to_tensor(img, self.channels)

    def read(self, path: str | os.PathLike, counter: int = 0, stream: int = 0) -> torch.Tensor:
        return self.transform(self.open(path), self.params(counter, stream))

    def read_all(self, paths: Sequence[str]) -> torch.Tensor:
        """Every file with the test transform, (N, C, H, W) (empty -> (0, C, H, W))."""
        if not paths:
            return torch.empty((0, self.channels, self.image_size, self.image_size))
        return torch.stack([self.transform(self.open(p), None) for p in paths])


def split_pair(img: Image.Image, path: str | os.PathLike) -> tuple[Image.Image, Image.Image]:
    """An A|B side-by-side image cut at width / 2; odd width -> ValueError naming the file."""
    w, h = img.size
    if w % 2:
        raise ValueError(
            f"aligned image {os.fspath(path)} has odd width {w}: expected A|B side by side, "
            "two halves of equal width"
        )
    return img.crop((0, 0, w // 2, h)), img.crop((w // 2, 0, w, h))


class FolderPairedDataset(_DomainNames, SplitDataset):
    """pix2pix A|B files: items {"A", "B", "label"} (label -1); A and B share one crop/flip."""

    def __init__(
        self,
        paths: Sequence[str],
        image_size: int,
        channels: int,
        train: bool,
        seed: int,
        names: Sequence[str] | None = None,
    ) -> None:
        self.paths = list(paths)
        self.names = _names(names, self.paths)
        self.reader = _FolderReader(image_size, channels, train, seed)
        self.index_sizes = (len(self.paths),)
        self.domain_names = ("A", "B")

    def file_names(self, domain: int | str) -> list[str]:
        self._domain_index(domain)
        return list(self.names)

    def file_paths(self, domain: int | str) -> list[str]:
        self._domain_index(domain)
        return list(self.paths)

    def __getitem__(self, index: SampleIndex | int) -> dict[str, torch.Tensor]:
        counter, (i, *_) = _indices(self, index)
        path = self.paths[i]
        a, b = split_pair(self.reader.open(path), path)
        p = self.reader.params(counter, 0)
        return {
            "A": self.reader.transform(a, p),
            "B": self.reader.transform(b, p),
            "label": _label(-1),
        }

    def domain_tensors(self, domain: int | str) -> tuple[torch.Tensor, torch.Tensor]:
        d = self._domain_index(domain)
        r = self.reader
        if not self.paths:
            return r.read_all([]), torch.empty(0, dtype=torch.int64)
        x = torch.stack([r.transform(split_pair(r.open(p), p)[d], None) for p in self.paths])
        return x, torch.full((len(x),), -1, dtype=torch.int64)


class FolderUnpairedDataset(_DomainNames, SplitDataset):
    """CycleGAN trainA/trainB files: items {"A", "B", "label_A", "label_B"} (labels -1)."""

    def __init__(
        self,
        paths_a: Sequence[str],
        paths_b: Sequence[str],
        image_size: int,
        channels: int,
        train: bool,
        seed: int,
        *,
        labels: tuple[Sequence[int], Sequence[int]] | None = None,
        names: tuple[Sequence[str], Sequence[str]] | None = None,
    ) -> None:
        self.paths = (list(paths_a), list(paths_b))
        self.labels = tuple(
            torch.as_tensor(
                labels[k] if labels is not None else [-1] * len(p), dtype=torch.int64
            ).reshape(len(p))
            for k, p in enumerate(self.paths)
        )
        self.names = tuple(
            _names(names[k] if names is not None else None, p) for k, p in enumerate(self.paths)
        )
        self.reader = _FolderReader(image_size, channels, train, seed)
        self.index_sizes = (len(self.paths[0]), len(self.paths[1]))
        self.domain_names = ("A", "B")

    def __getitem__(self, index: SampleIndex | int) -> dict[str, torch.Tensor]:
        counter, (i, j, *_) = _indices(self, index)
        return {
            "A": self.reader.read(self.paths[0][i], counter, 0),
            "B": self.reader.read(self.paths[1][j], counter, 1),
            "label_A": self.labels[0][i].clone(),
            "label_B": self.labels[1][j].clone(),
        }

    def domain_tensors(self, domain: int | str) -> tuple[torch.Tensor, torch.Tensor]:
        d = self._domain_index(domain)
        return self.reader.read_all(self.paths[d]), self.labels[d].clone()

    def file_names(self, domain: int | str) -> list[str]:
        return list(self.names[self._domain_index(domain)])

    def file_paths(self, domain: int | str) -> list[str]:
        return list(self.paths[self._domain_index(domain)])


class FolderImagesDataset(_DomainNames, SplitDataset):
    """Images with a class (kind "classes": {"image", "label"}) or a domain (kind "domains":
    {"image", "domain", "label"} with label -1)."""

    def __init__(
        self,
        paths: Sequence[str],
        targets: Sequence[int],
        kind: str,
        domain_names: tuple[str, ...],
        image_size: int,
        channels: int,
        train: bool,
        seed: int,
        names: Sequence[str] | None = None,
    ) -> None:
        if kind not in ("classes", "domains"):
            raise ValueError(f"kind must be 'classes' or 'domains', got {kind!r}")
        self.paths, self.targets, self.kind = (
            list(paths),
            torch.as_tensor(targets, dtype=torch.int64),
            kind,
        )
        self.reader = _FolderReader(image_size, channels, train, seed)
        self.index_sizes = (len(self.paths),)
        self.names = _names(names, self.paths)
        # classes: one domain (the folder); domains: one name per domain index
        self.domain_names = tuple(domain_names)

    def _keep(self, domain: int | str) -> list[int]:
        """Positions of the items of `domain` (all of them for kind "classes")."""
        d = self._domain_index(domain)
        if self.kind == "classes":
            return list(range(len(self.paths)))
        return [i for i, t in enumerate(self.targets.tolist()) if t == d]

    def file_names(self, domain: int | str = 0) -> list[str]:
        return [self.names[i] for i in self._keep(domain)]

    def file_paths(self, domain: int | str = 0) -> list[str]:
        return [self.paths[i] for i in self._keep(domain)]

    def __getitem__(self, index: SampleIndex | int) -> dict[str, torch.Tensor]:
        counter, (i, *_) = _indices(self, index)
        image = self.reader.read(self.paths[i], counter, 0)
        if self.kind == "classes":
            return {"image": image, "label": self.targets[i].clone()}
        return {"image": image, "domain": self.targets[i].clone(), "label": _label(-1)}

    def domain_tensors(self, domain: int | str = 0) -> tuple[torch.Tensor, torch.Tensor]:
        d = self._domain_index(domain)
        if self.kind == "classes":
            return self.reader.read_all(self.paths), self.targets.clone()
        keep = [p for p, t in zip(self.paths, self.targets.tolist(), strict=True) if t == d]
        return self.reader.read_all(keep), torch.full((len(keep),), -1, dtype=torch.int64)


class FolderAttributesDataset(_DomainNames, SplitDataset):
    """Images with binary attributes: items {"image", "attrs"} (float32 0/1 vector)."""

    def __init__(
        self,
        paths: Sequence[str],
        attrs: np.ndarray,
        name: str,
        image_size: int,
        channels: int,
        train: bool,
        seed: int,
    ) -> None:
        self.paths = list(paths)
        attrs = np.asarray(attrs, dtype=np.float32)
        # an empty split (a one-image folder's test split) keeps its attribute count
        width = attrs.shape[-1] if attrs.ndim == 2 else -1
        self.attrs = torch.as_tensor(attrs).reshape(len(self.paths), width)
        self.reader = _FolderReader(image_size, channels, train, seed)
        self.index_sizes = (len(self.paths),)
        self.domain_names = (name,)

    def __getitem__(self, index: SampleIndex | int) -> dict[str, torch.Tensor]:
        counter, (i, *_) = _indices(self, index)
        return {
            "image": self.reader.read(self.paths[i], counter, 0),
            "attrs": self.attrs[i].clone(),
        }

    def domain_tensors(self, domain: int | str = 0) -> tuple[torch.Tensor, torch.Tensor]:
        self._domain_index(domain)
        return self.reader.read_all(self.paths), torch.full(
            (len(self.paths),), -1, dtype=torch.int64
        )


def _names(names: Sequence[str] | None, paths: Sequence[str]) -> list[str]:
    """File name keys of `paths`: as given, else each file's base name without extension."""
    if names is None:
        return [os.path.splitext(os.path.basename(p))[0] for p in paths]
    if len(names) != len(paths):
        raise ValueError(f"{len(names)} file names for {len(paths)} files")
    return list(names)


def info(name: str, channels: int, classes: Sequence[str] = ()) -> DomainInfo:
    """A DomainInfo with class names (num_classes None when there are none)."""
    classes = tuple(classes)
    return DomainInfo(name, channels, len(classes) or None, classes)
