"""Presets sized to the data: the image size, batch and steps a run trains with, and why.

A preset file may hold a ``sizing`` block (``configs/<method>/cpu.yaml``)::

    sizing:
      cap: 128                 # the largest side the preset's networks are deep enough for
      follow: {num_downs: unet, d_layers: patchgan}   # model keys that follow the side
      min_batch: 4             # the batch is never made smaller than this
      step_keys: [curriculum_steps]                   # model keys scaled with train.steps
      seconds_per_step: 0.10   # measured at the preset's size and batch, one thread ...
      measured_on: "..."       # ... of this CPU (cpu_kind())

Without ``data.image_size`` set by the user, a run of such a preset trains at the data's native
side (:func:`transynth.data.native_size`) up to the cap, rounded to a multiple of 16 (every
network here halves the side at least 4 times). When the side differs from the preset's, the
``follow`` keys are recomputed for it and the batch and steps are chosen to fit a CPU budget
(default 15 minutes) with the cost model ``seconds_per_step * (side / preset side)^2 *
(batch / preset batch)``; a run never sees more images (steps x batch) than the preset's. Keys
the user sets (a config file or overrides: ``--data.image_size``, ``--steps``,
``--train.batch_size``, ``--model.K``) always win. A preset without the block (paper, tiny)
trains at its own size whatever the data.
"""

from __future__ import annotations

import dataclasses
import platform
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from transynth.config import ConfigError, RunConfig, preset_sizing, resolve_config
from transynth.data import native_size
from transynth.training.precision import PRECISION_NAMES, resolve_amp
from transynth.training.setup import resolve_device

#: Default CPU budget of a sized run, in minutes (the issue's "15 minutes on 2 cores").
DEFAULT_BUDGET_MINUTES = 15.0
#: Sized sides are multiples of this.
SIDE_MULTIPLE = 16
#: Sized step counts are multiples of this (and at least this).
STEP_MULTIPLE = 50


def _power_of_two_levels(side: int, smallest: int) -> int:
    """The most stride-2 levels that divide `side` exactly and leave a map of >= `smallest`."""
    n = 0
    while side % 2 ** (n + 1) == 0 and side // 2 ** (n + 1) >= smallest:
        n += 1
    return n


#: How a model key follows the side: rule name -> side -> value.
FOLLOW_RULES: dict[str, Callable[[int], int]] = {
    # U-Net depth: down to a 1x1 bottleneck at a power-of-two side (3x3 at 48 px)
    "unet": lambda side: _power_of_two_levels(side, 1),
    # PatchGAN: 2 layers (a 34 px receptive field) up to 64 px, 3 (70 px, the paper's) above
    "patchgan": lambda side: 2 if side <= 64 else 3,
    # a discriminator whose last map is 2x2 (StarGAN: 2x2 at 128 px with 6 layers)
    "to_2x2": lambda side: _power_of_two_levels(side, 2),
}


@dataclass(frozen=True)
class SizingRule:
    """A preset's ``sizing`` block, validated."""

    cap: int
    follow: dict[str, str] = field(default_factory=dict)
    min_batch: int = 1
    step_keys: tuple[str, ...] = ()
    seconds_per_step: float | None = None
    measured_on: str = ""
    budget_minutes: float = DEFAULT_BUDGET_MINUTES

    @classmethod
    def parse(cls, block: dict[str, Any], origin: str) -> SizingRule:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(block) - known)
        if unknown:
            raise ConfigError(
                f"{origin}: unknown sizing key(s) {', '.join(unknown)}; accepted: "
                + ", ".join(sorted(known))
            )
        rule = cls(**{**block, "step_keys": tuple(block.get("step_keys", ()))})
        bad = {k: v for k, v in rule.follow.items() if v not in FOLLOW_RULES}
        if not isinstance(rule.cap, int) or rule.cap < SIDE_MULTIPLE or bad:
            raise ConfigError(
                f"{origin}: sizing needs cap >= {SIDE_MULTIPLE} and follow rules among "
                f"{', '.join(FOLLOW_RULES)} (got cap {rule.cap!r}, follow {rule.follow!r})"
            )
        return rule


@dataclass(frozen=True)
class SizingPlan:
    """The sized config, what was decided and why (recorded in the run), and its one line."""

    config: RunConfig
    record: dict[str, Any]
    line: str


def cpu_kind() -> str:
    """This CPU's model name and how it multiplies bf16 (AMX, AVX512-BF16 or emulated)."""
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{name} ({_bf16_kind()})"


def _bf16_kind() -> str:
    probes = (("_is_amx_tile_supported", "AMX"), ("_is_avx512_bf16_supported", "AVX512-BF16"))
    for probe, label in probes:
        fn = getattr(torch.cpu, probe, None)
        try:
            if callable(fn) and fn():
                return label
        except RuntimeError:
            pass
    return "no native bf16"


def user_set_keys(*layers: dict[str, Any] | None) -> set[str]:
    """``section.key`` of every value the user set (config file, overrides)."""
    keys = set()
    for layer in layers:
        for section, values in (layer or {}).items():
            if isinstance(values, dict):
                keys.update(f"{section}.{k}" for k in values)
    return keys


def rule_of(method: str, preset: str) -> SizingRule | None:
    block = preset_sizing(method, preset)
    return None if block is None else SizingRule.parse(block, f"{method} {preset} preset")


def sized_model_keys(method: str, base: RunConfig, side: int, preset: str = "cpu") -> dict | None:
    """The model keys of `method`'s preset that follow the side, at `side`; None without sizing."""
    rule = rule_of(method, preset)
    if rule is None:
        return None
    if side == base.data.image_size:
        return {}
    return {key: FOLLOW_RULES[name](side) for key, name in rule.follow.items()}


def _side(native: int, cap: int) -> int:
    return max(SIDE_MULTIPLE, round(min(native, cap) / SIDE_MULTIPLE) * SIDE_MULTIPLE)


def _precision(cfg: RunConfig) -> tuple[str, str]:
    device = resolve_device(cfg.train.device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the trainer warns about emulated bf16 itself
        amp = resolve_amp(cfg.train.amp, device)
    if amp == "none":
        why = "train.amp=none" if cfg.train.amp == "none" else f"auto: {_bf16_kind()}"
    else:
        why = "GPU" if device.type == "cuda" else _bf16_kind()
    return PRECISION_NAMES[amp].replace(" autocast", ""), why


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def plan_sizing(
    cfg: RunConfig,
    preset: str,
    user_keys: set[str],
    budget_minutes: float | None = None,
) -> SizingPlan:
    """Size `cfg` (resolved from `preset` and the user's layers) to its data; see the module
    docstring. `user_keys` are the ``section.key`` the user set (:func:`user_set_keys`)."""
    rule = rule_of(cfg.method, preset)
    base = resolve_config(cfg.method, preset=preset)
    b0, s0, side0 = base.train.batch_size, base.train.steps, base.data.image_size
    native = native_size(cfg.data.task, layout=cfg.data.layout)

    def user(key: str) -> bool:
        return key in user_keys

    budget = (budget_minutes or (rule.budget_minutes if rule else DEFAULT_BUDGET_MINUTES)) * 60
    if user("data.image_size"):
        side, side_why = cfg.data.image_size, "user-set --data.image_size"
    elif rule is None:
        side, side_why = cfg.data.image_size, f"the {preset} preset's size, not sized"
    else:
        side = _side(native, rule.cap)
        side_why = "the preset's size, the data's" if side == side0 else "sized to data"
    sized = side != side0 and rule is not None
    model = {}
    if sized:
        for key, name in rule.follow.items():
            if not user(f"model.{key}"):
                model[key] = FOLLOW_RULES[name](side)
    pixels = (side / side0) ** 2
    batch = cfg.train.batch_size
    if sized and not user("train.batch_size"):
        batch = min(b0, max(rule.min_batch, round(b0 / pixels)))
    sps = rule.seconds_per_step if rule else None
    per_step = None if sps is None else sps * pixels * batch / b0
    steps = cfg.train.steps
    if sized and not user("train.steps") and per_step is not None:
        fit = int(budget / per_step) // STEP_MULTIPLE * STEP_MULTIPLE
        # a smaller batch takes more steps: the preset's images seen (steps x batch) at most
        most = s0 * b0 // batch // STEP_MULTIPLE * STEP_MULTIPLE
        steps = min(most, max(STEP_MULTIPLE, fit))
    for key in rule.step_keys if sized and steps != s0 else ():
        if not user(f"model.{key}"):
            model[key] = max(1, round(getattr(base.model, key) * steps / s0))
    out = cfg.replace("data", image_size=side).replace("train", batch_size=batch, steps=steps)
    if model:
        out = out.replace("model", **model)
    precision, precision_why = _precision(out)
    expected = None if per_step is None else steps * per_step
    here = cpu_kind()
    record = {
        "image_size": side,
        "image_size_from": side_why,
        "data_size": native,
        "cap": rule.cap if rule else None,
        "preset": preset,
        "preset_image_size": side0,
        "batch_size": batch,
        "batch_size_from": _origin(user("train.batch_size"), sized, "sized"),
        "steps": steps,
        "steps_from": _origin(user("train.steps"), sized, "budget"),
        "model": model,
        "precision": precision,
        "precision_why": precision_why,
        "budget_minutes": budget / 60 if sized else None,
        "expected_seconds": None if expected is None else round(expected, 1),
        "cost_model": {
            "seconds_per_step": sps,
            "at_size": side0,
            "at_batch": b0,
            "threads": 1,
            "measured_on": rule.measured_on if rule else "",
        },
        "cpu": here,
    }
    line = _line(record, model, expected, here)
    record["line"] = line
    return SizingPlan(out, record, line)


def _origin(user_set: bool, sized: bool, how: str) -> str:
    return "user-set" if user_set else how if sized else "preset"


def _user_tag(origin: str) -> str:
    return " (user-set)" if origin == "user-set" else ""


def _line(record: dict[str, Any], model: dict[str, int], expected: float | None, here: str) -> str:
    cap = f", cap {record['cap']}" if record["cap"] is not None else ""
    parts = [
        f"image size {record['image_size']} px ({record['image_size_from']}; data "
        f"{record['data_size']} px{cap})",
        f"batch {record['batch_size']}" + _user_tag(record["batch_size_from"]),
        f"{record['steps']} steps" + _user_tag(record["steps_from"]),
        f"precision {record['precision']} ({record['precision_why']})",
    ]
    if model:
        parts.insert(1, ", ".join(f"{k} {v}" for k, v in model.items()))
    measured = record["cost_model"]["measured_on"]
    if expected is None:
        parts.append("expected time unknown (no cost measured for this preset)")
    elif measured and measured != here:
        parts.append(f"expected {_minutes(expected)} on one thread of {measured} (not this CPU)")
    else:
        parts.append(f"expected {_minutes(expected)} on one thread of this CPU")
    if record["budget_minutes"]:
        parts[-1] += f", budget {record['budget_minutes']:g} min"
    return ", ".join(parts) + "; --data.image_size, --steps, --train.batch_size override"
