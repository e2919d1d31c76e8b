"""What a loaded method offers the page (targets, labels, attributes, codes) and the turning of
the page's form fields back into the keyword arguments of `translate` and `sample`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from transynth.models.base import Method
from transynth.models.infogan_codes import Code
from transynth.models.stargan_labels import attribute_groups

#: Range of the continuous-code sliders: training draws uniform(-1, 1); beyond it extrapolates.
CODE_RANGE = (-2.0, 2.0)
MAX_SAMPLES = 64


def _targets(model: Method) -> list[dict[str, str]]:
    caps = model.capabilities
    names = [d.name for d in model.domains]
    label_sets = getattr(getattr(model, "labels", None), "sets", ())
    domains = [n for s in label_sets if s.kind == "domains" for n in s.names]
    if caps.multi_domain and domains:
        return [{"value": n, "text": f"to {n}"} for n in domains]
    if caps.multi_domain:  # attribute runs: the target is the attributes set below
        return [{"value": "AtoB", "text": "set the attributes below"}]
    a, b = (names + names)[:2]
    out = [{"value": "AtoB", "text": f"AtoB ({a} -> {b})"}]
    if caps.bidirectional:
        out.append({"value": "BtoA", "text": f"BtoA ({b} -> {a})"})
    return out


def _attributes(model: Method) -> list[dict[str, Any]]:
    """One select per attribute (keep/0/1) or one-hot group (keep/its values)."""
    out: list[dict[str, Any]] = []
    for s in getattr(getattr(model, "labels", None), "sets", ()):
        if s.kind != "attributes":
            continue
        groups = attribute_groups(s.names)
        grouped = {member for members in groups.values() for member in members.values()}
        out += [{"name": g, "values": list(v)} for g, v in groups.items()]
        out += [{"name": n, "values": ["0", "1"]} for n in s.names if n not in grouped]
    return out


def _class_names(model: Method) -> list[str]:
    count = int(getattr(model, "num_classes", 0) or 0)
    names = list(model.domains[0].class_names) if model.domains else []
    return names if len(names) == count else [str(i) for i in range(count)]


def _codes(model: Method) -> list[dict[str, Any]]:
    codes = getattr(model, "codes", ())
    out = []
    for code in codes if isinstance(codes, tuple) else ():
        if not isinstance(code, Code):
            continue
        if code.kind == "cat":
            out.append({"name": code.name, "kind": "cat", "values": code.values})
        else:
            out.append(
                {"name": code.name, "kind": "cont", "min": CODE_RANGE[0], "max": CODE_RANGE[1]}
            )
    return out


def method_options(model: Method) -> dict[str, Any]:
    """The controls the page shows for `model`, as JSON-ready data."""
    samples = type(model).sample is not Method.sample
    translates = model.capabilities.translates
    labels = _class_names(model)
    return {
        "method": model.name,
        "translates": translates,
        # a fully convolutional generator can also run at an upload's own resolution
        "native": translates and model.fixed_size_reason("AtoB") is None,
        "samples": samples,
        "targets": _targets(model) if translates else [],
        "translate_label": labels if translates and "label" in model.conditions else [],
        "attributes": _attributes(model) if translates else [],
        "sample_label": labels if samples else [],
        "codes": _codes(model) if samples else [],
        "image_size": model.image_size,
    }


def _int(fields: Mapping[str, str], key: str, low: int, high: int) -> int | None:
    text = fields.get(key, "").strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{key} {text!r} is not a whole number") from None
    if not low <= value <= high:
        raise ValueError(f"{key} {value} is out of range; accepted: {low}..{high}")
    return value


def translate_arguments(fields: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
    """(direction, conditions) from form fields: target, label, attr.NAME."""
    direction = fields.get("target") or "AtoB"
    condition: dict[str, Any] = {}
    label = _int(fields, "label", 0, 10_000)
    if label is not None:
        condition["label"] = label
    attributes = {
        key[len("attr.") :]: value
        for key, value in fields.items()
        if key.startswith("attr.") and value not in ("", "keep")
    }
    if attributes:
        condition["attributes"] = attributes
    return direction, condition


def tile_arguments(fields: Mapping[str, str]) -> tuple[int | None, int]:
    """(tile side or None for the whole image, overlap) from the tile and overlap fields."""
    tile = _int(fields, "tile", 0, 8192) or None
    overlap = _int(fields, "overlap", 0, 4096)
    return tile, 32 if overlap is None else overlap


def native_argument(fields: Mapping[str, str]) -> bool:
    """Whether the form asks for the native resolution (the checkbox "native"), not the
    trained scale (the default of `Method.translate`)."""
    value = fields.get("native", "").strip().lower()
    if value not in ("", "0", "false", "off", "1", "true", "on"):
        raise ValueError(f"native {value!r} is not valid; accepted: true or false")
    return value in ("1", "true", "on")


def sample_arguments(fields: Mapping[str, str]) -> dict[str, Any]:
    """Keyword arguments of `Method.sample` from form fields: n, label, seed, code.NAME."""
    codes: dict[str, float] = {}
    for key, value in fields.items():
        if key.startswith("code.") and value not in ("", "random"):
            try:
                codes[key[len("code.") :]] = float(value)
            except ValueError:
                raise ValueError(f"{key} {value!r} is not a number") from None
    return {
        "n": _int(fields, "n", 1, MAX_SAMPLES) or 16,
        "labels": _int(fields, "label", 0, 10_000),
        "codes": codes or None,
        "seed": _int(fields, "seed", 0, 2**31 - 1) or 0,
    }
