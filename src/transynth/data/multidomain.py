"""Embedded multi-domain and multi-attribute tasks (StarGAN-style data).

``digit-styles`` (kind "domains"): the four digit domains ``mnist``, ``uci-digits``,
``printed-digits`` and ``mnist-m`` as one task; an item's domain is its style and its label the
digit class. Every domain is read at 3 channels (gray repeated) and keeps its own train/test split.

``digit-attributes`` (kind "attributes"): MNIST digits rendered procedurally with binary
attributes, so that the ground truth of ANY target attribute vector exists: the same source digit
rendered with the target attributes. Attributes (in this order, see :data:`ATTRIBUTES`):

- ``colour_red``, ``colour_green``, ``colour_blue``: a one-hot group, the stroke colour;
- ``thick``: 1 = the stroke dilated by a 3x3 maximum filter, 0 = the stroke as written;
- ``textured``: 1 = a fixed diagonal-stripe background, 0 = a plain black one.

Rendering is a pure function of (digit, attributes): ``out = bg * (1 - m) + colour * m`` with
``m`` the (possibly dilated) stroke in [0, 1]. Each item's attributes are drawn from a fixed seed,
and each split keeps the index of its source digit in the MNIST split (``source_index``) so the
evaluation can render the reference of a translation with :meth:`AttributeDigits.render`.
"""

from __future__ import annotations

import numpy as np
import torch

from .datasets import _DomainNames, _indices
from .domains import DIGIT_CLASSES, domain_arrays, domain_ready, domain_uint8, nhwc_to_tensor
from .imageio import resize_uint8, to_float
from .types import DomainInfo, SampleIndex, SplitDataset, TaskData

#: Domains of ``digit-styles``, in label order.
STYLE_DOMAINS = ("mnist", "uci-digits", "printed-digits", "mnist-m")
#: Attributes of ``digit-attributes``, in vector order.
ATTRIBUTES = ("colour_red", "colour_green", "colour_blue", "thick", "textured")
COLOURS = {"red": (255, 40, 40), "green": (40, 230, 40), "blue": (70, 110, 255)}
ATTRIBUTE_SEED = 20180618  # StarGAN's CVPR date; fixes every item's attributes
TEXTURE_LEVEL = 90  # stripe intensity of the textured background (of 255)

MULTIDOMAIN_DESCRIPTIONS = {
    "digit-styles": "domains: the 4 digit styles mnist, uci-digits, printed-digits, mnist-m "
    "(domain = style, label = digit), all RGB; each domain's own train/test split",
    "digit-attributes": "attributes: MNIST digits rendered with colour_{red,green,blue} "
    "(one-hot), thick (dilated stroke) and textured (striped background); ground truth for "
    "every target; 4,000/1,000",
}

MULTIDOMAIN_KINDS = {"digit-styles": "domains", "digit-attributes": "attributes"}


def multidomain_names() -> list[str]:
    return list(MULTIDOMAIN_DESCRIPTIONS)


def multidomain_ready(name: str) -> bool:
    return all(domain_ready(d) for d in (STYLE_DOMAINS if name == "digit-styles" else ("mnist",)))


# --------------------------------------------------------------------------------------------
# digit-styles


class TensorDomainsDataset(_DomainNames, SplitDataset):
    """Images of several domains in one index space: items {"image", "domain", "label"}."""

    def __init__(
        self,
        images: torch.Tensor,
        domains: torch.Tensor,
        labels: torch.Tensor,
        domain_names: tuple[str, ...],
    ) -> None:
        if not len(images) == len(domains) == len(labels):
            raise ValueError("domains data need as many images as domain ids and labels")
        self.images, self.domains = images, domains.to(torch.int64)
        self.labels = labels.to(torch.int64)
        self.index_sizes = (len(images),)
        self.domain_names = tuple(domain_names)

    def __getitem__(self, index: SampleIndex | int) -> dict[str, torch.Tensor]:
        _, (i, *_) = _indices(self, index)
        return {
            "image": to_float(self.images[i]),
            "domain": self.domains[i].clone(),
            "label": self.labels[i].clone(),
        }

    def domain_tensors(self, domain: int | str) -> tuple[torch.Tensor, torch.Tensor]:
        keep = self.domains == self._domain_index(domain)
        return to_float(self.images[keep]), self.labels[keep].clone()


def build_digit_styles(image_size: int) -> TaskData:
    splits = {}
    for split in ("train", "test"):
        xs, ds, ys = [], [], []
        for k, name in enumerate(STYLE_DOMAINS):
            x, y = domain_uint8(name, split, image_size, 3)
            xs.append(x)
            ys.append(y)
            ds.append(torch.full((len(x),), k, dtype=torch.int64))
        splits[split] = TensorDomainsDataset(
            torch.cat(xs), torch.cat(ds), torch.cat(ys), STYLE_DOMAINS
        )
    domains = tuple(DomainInfo(n, 3, len(DIGIT_CLASSES), DIGIT_CLASSES) for n in STYLE_DOMAINS)
    return TaskData(
        "digit-styles",
        "domains",
        domains,
        image_size,
        splits["train"],
        splits["test"],
        MULTIDOMAIN_DESCRIPTIONS["digit-styles"],
    )


# --------------------------------------------------------------------------------------------
# digit-attributes


def _texture(size: int) -> np.ndarray:
    """The fixed background of ``textured``: diagonal stripes, 2 px on, 3 px off (H, W)."""
    i, j = np.mgrid[0:size, 0:size]
    return np.where((i + j) % 5 < 2, TEXTURE_LEVEL, 0).astype(np.float32)


def _dilate(m: np.ndarray) -> np.ndarray:
    """3x3 grey dilation (maximum filter) of (N, H, W) strokes, zero-padded."""
    p = np.pad(m, ((0, 0), (1, 1), (1, 1)))
    h, w = m.shape[1:]
    return np.max([p[:, a : a + h, b : b + w] for a in range(3) for b in range(3)], axis=0)


def render_digits(digits: np.ndarray, attrs: np.ndarray) -> np.ndarray:
    """Render MNIST digits (N, H, W) uint8 with attribute vectors (N, 5) as (N, H, W, 3) uint8.

    The colour is the first set colour attribute (red when none is set); see the module
    docstring for the other attributes.
    """
    attrs = np.asarray(attrs, dtype=np.float32).reshape(len(digits), len(ATTRIBUTES))
    m = digits.astype(np.float32) / 255.0
    thick = attrs[:, 3] > 0.5
    if thick.any():
        m[thick] = _dilate(m[thick])
    palette = np.array(list(COLOURS.values()), dtype=np.float32)  # (3, 3)
    colour = palette[np.argmax(attrs[:, :3] > 0.5, axis=1)]  # (N, 3); argmax of all-0 = red
    bg = np.where(attrs[:, 4:5, None] > 0.5, _texture(digits.shape[1])[None], 0.0)  # (N, H, W)
    out = bg[..., None] * (1 - m[..., None]) + colour[:, None, None, :] * m[..., None]
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def random_attributes(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 5) float32 0/1 vectors: a uniform colour, thick and textured each with p = 0.5."""
    out = np.zeros((n, len(ATTRIBUTES)), dtype=np.float32)
    out[np.arange(n), rng.integers(0, 3, n)] = 1
    out[:, 3:] = rng.integers(0, 2, (n, 2))
    return out


class AttributeDigits(_DomainNames, SplitDataset):
    """Procedurally rendered digits: items {"image", "attrs"}.

    Attributes:
        digits: the source MNIST digits (N, 28, 28) uint8 of this split.
        source_index: per item, the index of its source digit in ``digits``.
        labels: per item, the digit class (not part of the items; for evaluation).
    """

    def __init__(
        self, digits: np.ndarray, classes: np.ndarray, attrs: np.ndarray, image_size: int
    ) -> None:
        self.digits = digits
        self.source_index = torch.arange(len(digits))
        self.labels = torch.as_tensor(classes, dtype=torch.int64)
        self.attrs = torch.as_tensor(attrs, dtype=torch.float32)
        self.image_size = image_size
        self.images = self.render(self.source_index, self.attrs, as_uint8=True)
        self.index_sizes = (len(digits),)
        self.domain_names = ("digit-attributes",)

    def render(
        self, index: torch.Tensor, attrs: torch.Tensor, *, as_uint8: bool = False
    ) -> torch.Tensor:
        """Source digits `index` (N,) rendered with `attrs` (N, 5) at the task's size:
        (N, 3, H, W) in [-1, 1] (or uint8 with `as_uint8`): the ground truth of a translation."""
        idx = torch.as_tensor(index).long().cpu().numpy()
        a = torch.as_tensor(attrs).float().cpu().numpy()
        x = nhwc_to_tensor(render_digits(self.digits[idx], a))
        x = resize_uint8(x, self.image_size, 3)
        return x if as_uint8 else to_float(x)

    def __getitem__(self, index: SampleIndex | int) -> dict[str, torch.Tensor]:
        _, (i, *_) = _indices(self, index)
        return {"image": to_float(self.images[i]), "attrs": self.attrs[i].clone()}

    def domain_tensors(self, domain: int | str = 0) -> tuple[torch.Tensor, torch.Tensor]:
        self._domain_index(domain)
        return to_float(self.images), self.labels.clone()


def build_digit_attributes(image_size: int) -> TaskData:
    arr = domain_arrays("mnist")
    splits = {}
    for k, split in enumerate(("train", "test")):
        digits = arr[f"x_{split}"][..., 0]
        rng = np.random.default_rng([ATTRIBUTE_SEED, k])
        attrs = random_attributes(len(digits), rng)
        splits[split] = AttributeDigits(digits, arr[f"y_{split}"], attrs, image_size)
    # The attribute names travel in the domain's class_names: a method is built from the
    # domains alone (and a run is reloaded from them), so this is how StarGAN learns them.
    info = DomainInfo("digit-attributes", 3, len(ATTRIBUTES), ATTRIBUTES)
    return TaskData(
        "digit-attributes",
        "attributes",
        (info,),
        image_size,
        splits["train"],
        splits["test"],
        MULTIDOMAIN_DESCRIPTIONS["digit-attributes"],
        attribute_names=ATTRIBUTES,
    )


def build_multidomain(name: str, image_size: int, channels: int | None = None) -> TaskData:
    """TaskData of ``digit-styles`` or ``digit-attributes`` (RGB; `channels` must be 3/None)."""
    if channels not in (None, 3):
        raise ValueError(f"{name} is RGB (channels 3); got channels={channels}")
    if name == "digit-styles":
        return build_digit_styles(image_size)
    if name == "digit-attributes":
        return build_digit_attributes(image_size)
    raise ValueError(f"unknown multi-domain task {name!r}; known: {', '.join(multidomain_names())}")
