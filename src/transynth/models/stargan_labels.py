"""StarGAN's labels: single-label domains, multi-label attributes, and the mask vector that
lets one model train on several datasets with different label sets (Choi et al., CVPR 2018,
Sec. 3.2). Used by :mod:`transynth.models.stargan` and the multi-domain evaluation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from transynth.data.types import DomainInfo

LABEL_KINDS = ("domains", "attributes")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True)
class LabelSet:
    """The labels of one dataset: single-label ``domains`` or multi-label ``attributes``."""

    name: str
    kind: str  # "domains" | "attributes"
    names: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> LabelSet:
        """``NAME=KIND:label1,label2,...`` (e.g. ``rafd=domains:angry,happy,neutral``)."""
        head, sep, labels = text.partition(":")
        name, _, kind = head.rpartition("=")
        names = tuple(x.strip() for x in labels.split(",") if x.strip())
        if not sep or not name or kind not in LABEL_KINDS or not names:
            raise ValueError(
                f"model.datasets entry {text!r}: expected NAME=KIND:label1,label2,... with KIND "
                f"one of {', '.join(LABEL_KINDS)}, e.g. celeba=attributes:Black_Hair,Male"
            )
        if len(set(names)) != len(names):
            raise ValueError(f"model.datasets entry {text!r} repeats a label name")
        return cls(name.strip(), kind, names)


class LabelSpace:
    """The label vector c~ = [c_1, ..., c_n, m] of G's input and the D_cls logits [c_1..c_n].

    With one dataset there is no mask (m is empty): c~ is the domain one-hot or the attribute
    vector, as in single-dataset StarGAN.
    """

    def __init__(self, sets: Sequence[LabelSet]) -> None:
        if not sets:
            raise ValueError("StarGAN needs at least one label set")
        self.sets = tuple(sets)
        self.mask = len(self.sets) > 1
        sizes = [len(s.names) for s in self.sets]
        self.offsets = [sum(sizes[:k]) for k in range(len(sizes))]
        self.cls_dim = sum(sizes)
        self.dim = self.cls_dim + (len(self.sets) if self.mask else 0)

    def span(self, k: int) -> slice:
        return slice(self.offsets[k], self.offsets[k] + len(self.sets[k].names))

    def own(self, k: int, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Dataset k's label block of a batch: one-hot domains or the attribute vector."""
        s = self.sets[k]
        if s.kind == "domains":
            if "domain" not in batch:
                raise ValueError(f"label set {s.name!r} is single-label: batches need 'domain'")
            return F.one_hot(batch["domain"].long(), len(s.names)).float()
        if "attrs" not in batch:
            raise ValueError(f"label set {s.name!r} holds attributes: batches need 'attrs'")
        attrs = batch["attrs"].float()
        if attrs.shape[1] != len(s.names):
            raise ValueError(
                f"label set {s.name!r} has {len(s.names)} attributes, batch attrs have "
                f"{attrs.shape[1]}"
            )
        return attrs

    def vector(self, k: int, block: torch.Tensor) -> torch.Tensor:
        """c~ for dataset k: its block in place, zeros for the other datasets, mask one-hot k."""
        n = block.shape[0]
        c = block.new_zeros(n, self.dim)
        c[:, self.span(k)] = block
        if self.mask:
            c[:, self.cls_dim + k] = 1.0
        return c

    def cls_loss(self, logits: torch.Tensor, k: int, block: torch.Tensor) -> torch.Tensor:
        """-log D_cls(labels | x) on dataset k's part only (the reference code's losses)."""
        part = logits[:, self.span(k)].float()
        if self.sets[k].kind == "domains":
            return F.cross_entropy(part, block.argmax(1))
        return F.binary_cross_entropy_with_logits(part, block, reduction="sum") / part.shape[0]

    def predict(self, logits: torch.Tensor, k: int) -> torch.Tensor:
        """D_cls's reading of dataset k's block: one-hot argmax or sigmoid > 0.5."""
        part = logits[:, self.span(k)].float()
        if self.sets[k].kind == "domains":
            return F.one_hot(part.argmax(1), part.shape[1]).float()
        return (part > 0).float()


def attribute_groups(names: Sequence[str]) -> dict[str, dict[str, str]]:
    """One-hot groups among attribute names: ``colour_red, colour_green`` -> {"colour": {"red":
    "colour_red", "green": "colour_green"}} (a prefix shared by at least two names, itself not
    an attribute)."""
    groups: dict[str, dict[str, str]] = {}
    for n in names:
        prefix, sep, value = n.rpartition("_")
        if sep and prefix and value:
            groups.setdefault(prefix, {})[value] = n
    return {g: v for g, v in groups.items() if len(v) >= 2 and g not in names}


def _binary(value: Any, name: str, accepted: str) -> float:
    if isinstance(value, bool) or (isinstance(value, (int, float)) and value in (0, 1)):
        return float(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return 1.0
    if text in _FALSE:
        return 0.0
    raise ValueError(f"attribute {name}={value!r}: expected 0 or 1; {accepted}")


def attribute_updates(names: Sequence[str], settings: Mapping[str, Any]) -> dict[int, float]:
    """Index -> value updates of an attribute vector from user settings.

    ``NAME=0/1`` sets one attribute; ``GROUP=VALUE`` sets ``GROUP_VALUE`` to 1 and clears the
    group's other members. Unknown names or values raise ValueError listing what is accepted.
    """
    names = list(names)
    groups = attribute_groups(names)
    accepted = "accepted: " + ", ".join(
        [f"{n}=0|1" for n in names] + [f"{g}={'|'.join(v)}" for g, v in groups.items()]
    )
    out: dict[int, float] = {}
    for key, value in settings.items():
        if key in names:
            out[names.index(key)] = _binary(value, key, accepted)
        elif key in groups:
            members = groups[key]
            choice = str(value).strip()
            if choice not in members:
                raise ValueError(
                    f"attribute group {key}={value!r}: accepted values {', '.join(members)}"
                )
            for v, n in members.items():
                out[names.index(n)] = 1.0 if v == choice else 0.0
        else:
            raise ValueError(f"unknown attribute {key!r}; {accepted}")
    return out


def attribute_edits(names: Sequence[str], c_org: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
    """Single-attribute edits of label vectors (N, A): every value of each one-hot group
    (``colour=red``: that member set, the others cleared), then each other attribute flipped
    (``thick flipped``). Returns (edit name, target vectors) pairs."""
    names = list(names)
    groups = attribute_groups(names)
    grouped = {n for members in groups.values() for n in members.values()}
    out = []
    for g, members in groups.items():
        for v in members:
            block = c_org.clone()
            for i, val in attribute_updates(names, {g: v}).items():
                block[:, i] = val
            out.append((f"{g}={v}", block))
    for i, n in enumerate(names):
        if n not in grouped:
            block = c_org.clone()
            block[:, i] = 1.0 - block[:, i]
            out.append((f"{n} flipped", block))
    return out


def task_labels(domains: Sequence[DomainInfo]) -> LabelSet:
    """The label set of a task: its domains (>= 2) or the attributes of its single domain."""
    if len(domains) >= 2:
        return LabelSet("domains", "domains", tuple(d.name for d in domains))
    if len(domains) == 1 and domains[0].class_names:
        return LabelSet(domains[0].name, "attributes", tuple(domains[0].class_names))
    raise ValueError(
        "stargan needs a domains task (two or more domains, e.g. digit-styles or a folder per "
        "domain) or an attributes task whose domain lists the attribute names (e.g. "
        "digit-attributes, a CelebA/CSV attribute folder)"
    )
