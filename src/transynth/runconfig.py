"""Typed, validated, immutable run configuration: the types and their validation.

A run is described by a :class:`RunConfig`: the method name, the method's own hyper-parameter
dataclass (its paper defaults live there), a :class:`DataConfig` and a :class:`TrainConfig`.
This is the lowest layer of configuration and knows no method: :mod:`transynth.config` layers a
method's presets, a user's file and dotted overrides into one. Unknown sections or keys and
values of the wrong type are rejected with a message that names the key and lists what is
accepted. Configs are frozen: training never mutates them (schedules are computed from the
step).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

AMP_MODES = ("none", "auto", "bf16", "fp16")


class ConfigError(ValueError):
    """A configuration value, key, preset or file is not acceptable."""


@dataclass(frozen=True)
class DataConfig:
    """Which data to train on and at what size."""

    task: str = ""  # an embedded task name or a folder path; "" = the method's default task
    image_size: int = 32
    layout: str | None = None  # force a folder layout: aligned|unaligned|classes|domains|attributes
    channels: int | None = None  # force 1 or 3 channels for every domain
    num_workers: int = 0  # DataLoader worker processes (folder data at paper scale wants some)

    def __post_init__(self) -> None:
        check(self.image_size >= 8, "data.image_size", self.image_size, "an integer >= 8")
        check(self.channels in (None, 1, 3), "data.channels", self.channels, "1, 3 or null")
        check(self.num_workers >= 0, "data.num_workers", self.num_workers, "an integer >= 0")


@dataclass(frozen=True)
class TrainConfig:
    """The optimisation loop. Learning rates and betas belong to the method's config."""

    steps: int = 1000  # optimisation iterations (one batch each)
    batch_size: int = 1  # per process
    decay_start: float = 0.5  # fraction of steps at constant lr, then linear decay to 0
    log_every: int = 10
    sample_every: int = 250
    checkpoint_every: int = 500
    seed: int = 0
    # none | auto (bf16 where the device has it natively, else fp32) | bf16 (CPU and GPU) |
    # fp16 (GPU, with a gradient scaler); see training/precision.py
    amp: str = "none"
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    channels_last: bool = False
    # torch.compile every network in place (nn.Module.compile: weights and checkpoints keep their
    # names); pays on GPUs, hardly on small CPU presets (docs/BENCHMARKS.md, "Speed paths")
    compile: bool = False
    progress: bool = True  # tqdm progress bar
    tensorboard: bool = True  # also log to TensorBoard when it is installed
    evaluate: bool = True  # run the method's evaluation at the end and write metrics.json
    eval_every: int = 0  # also evaluate every N steps (0: only at the end)
    best_metric: str = ""  # keep best.safetensors by this metric, e.g. AtoB/translation_accuracy
    best_mode: str = "max"  # max | min: whether a larger best_metric is better
    ema: float = 0.0  # decay of a moving average of the weights used for evaluation (0: off)
    # Best of several starts (transynth.training.restarts): seeds seed .. seed+restarts-1 each
    # train restart_steps steps; the one with the best restart_metric (choose a label-free one)
    # goes on to train.steps. 1: a single run.
    restarts: int = 1
    restart_steps: int = 0
    restart_metric: str = ""
    restart_mode: str = "max"  # max | min
    # Opt-in: let best_metric / restart_metric be a metric computed with held-out (test or
    # target) labels, which is refused otherwise (the rule: transynth.eval.selection).
    allow_test_selection: bool = False

    def __post_init__(self) -> None:
        check(self.steps >= 1, "train.steps", self.steps, "an integer >= 1")
        check(self.batch_size >= 1, "train.batch_size", self.batch_size, "an integer >= 1")
        check(0.0 <= self.decay_start <= 1.0, "train.decay_start", self.decay_start, "in [0, 1]")
        for name in ("log_every", "sample_every", "checkpoint_every"):
            check(getattr(self, name) >= 1, f"train.{name}", getattr(self, name), "an integer >= 1")
        check(self.amp in AMP_MODES, "train.amp", self.amp, " | ".join(AMP_MODES))
        check(self.eval_every >= 0, "train.eval_every", self.eval_every, "an integer >= 0")
        check(self.best_mode in ("max", "min"), "train.best_mode", self.best_mode, "max | min")
        check(0.0 <= self.ema < 1.0, "train.ema", self.ema, "in [0, 1), 0 = off")
        check(self.restarts >= 1, "train.restarts", self.restarts, "an integer >= 1")
        check(
            self.restart_mode in ("max", "min"),
            "train.restart_mode",
            self.restart_mode,
            "max | min",
        )
        if self.restarts > 1:
            check(
                1 <= self.restart_steps < self.steps,
                "train.restart_steps",
                self.restart_steps,
                f"an integer in [1, train.steps={self.steps}) when train.restarts > 1",
            )
            check(
                bool(self.restart_metric),
                "train.restart_metric",
                self.restart_metric,
                "a metric name (e.g. c1/q_train_mutual_information) when train.restarts > 1",
            )
        check(
            not self.best_metric or self.eval_every > 0 or self.evaluate,
            "train.best_metric",
            self.best_metric,
            "empty unless train.eval_every > 0 or train.evaluate is true",
        )


@dataclass(frozen=True)
class RunConfig:
    """Everything needed to reproduce a run."""

    method: str
    model: Any  # the method's own frozen config dataclass
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "model": dataclasses.asdict(self.model),
            "data": dataclasses.asdict(self.data),
            "train": dataclasses.asdict(self.train),
        }

    def replace(self, section: str, **changes: Any) -> RunConfig:
        """A copy with some keys of one section changed (validated like any other change)."""
        return dataclasses.replace(
            self, **{section: _build(getattr(self, section), changes, section)}
        )


def check(ok: bool, key: str, value: Any, accepted: str) -> None:
    """Raise a ConfigError naming `key`, its `value` and what is `accepted` unless `ok`."""
    if not ok:
        raise ConfigError(f"{key}={value!r} is not valid; expected {accepted}")


def _type_matches(value: Any, tp: Any) -> bool:
    origin = typing.get_origin(tp)
    if tp is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_type_matches(value, a) for a in typing.get_args(tp))
    if tp is type(None):
        return value is None
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_type_matches(v, args[0]) for v in value)
        if len(args) != len(value):
            return False
        return all(_type_matches(v, a) for v, a in zip(value, args, strict=True))
    if origin is typing.Literal:
        return value in typing.get_args(tp)
    return isinstance(value, tp)


def _coerce(value: Any, tp: Any) -> Any:
    """Convert YAML lists to tuples and ints to floats where the field says so."""
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if typing.get_origin(tp) is tuple and isinstance(value, list):
        return tuple(value)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            if _type_matches(value, arg):
                return _coerce(value, arg)
    return value


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _build(base: Any, changes: dict[str, Any], section: str) -> Any:
    """`base` (a dataclass instance) with `changes` applied, type-checked and validated."""
    if not isinstance(changes, dict):
        raise ConfigError(
            f"section {section!r} must be a mapping of keys to values, got {changes!r}"
        )
    hints = typing.get_type_hints(type(base))
    known = {f.name for f in fields(base)}
    clean = {}
    for key, value in changes.items():
        if key not in known:
            raise ConfigError(
                f"unknown key {section}.{key}; accepted keys of {section}: "
                + ", ".join(sorted(known))
            )
        if not _type_matches(value, hints[key]):
            raise ConfigError(
                f"{section}.{key}={value!r} has the wrong type; expected {_type_name(hints[key])}"
            )
        clean[key] = _coerce(value, hints[key])
    try:
        return dataclasses.replace(base, **clean)
    except ConfigError:
        raise
    except (TypeError, ValueError) as err:
        raise ConfigError(f"invalid {section} config: {err}") from err


def parse_overrides(items: list[str]) -> dict[str, dict[str, Any]]:
    """['model.lambda_cyc=5', 'train.steps=100'] -> {'model': {'lambda_cyc': 5}, 'train': {...}}.

    Values are parsed as YAML scalars (5 -> int, 5e-4 -> float, true -> bool, null -> None).
    """
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, raw = item.lstrip("-").partition("=")
        section, dot, name = key.partition(".")
        if not sep or not dot or section not in ("model", "data", "train"):
            raise ConfigError(
                f"override {item!r} is not of the form SECTION.KEY=VALUE with SECTION one of "
                "model, data, train (e.g. --model.lambda_cyc=5)"
            )
        out.setdefault(section, {})[name] = _parse_scalar(raw)
    return out


def _parse_scalar(raw: str) -> Any:
    try:
        value = yaml.safe_load(raw) if raw.strip() else raw
    except yaml.YAMLError:
        return raw
    if isinstance(value, str):  # PyYAML reads 2e-4 (no dot) as a string
        try:
            return float(value)
        except ValueError:
            return value
    return value


def read_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML mapping from a file, with errors that name the file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {path} is not valid YAML: {err}") from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping with sections model/data/train")
    return data


def apply_layer(cfg: RunConfig, layer: dict[str, Any], origin: str) -> RunConfig:
    """Apply one mapping {method?, model, data, train} to a config."""
    unknown = set(layer) - {"method", "model", "data", "train"}
    if unknown:
        raise ConfigError(
            f"{origin}: unknown section(s) {', '.join(sorted(unknown))}; "
            "accepted sections: method, model, data, train"
        )
    if "method" in layer and layer["method"] != cfg.method:
        raise ConfigError(f"{origin} is for method {layer['method']!r}, not {cfg.method!r}")
    for section in ("model", "data", "train"):
        if section in layer and layer[section]:
            try:
                cfg = cfg.replace(section, **layer[section])
            except ConfigError as err:
                raise ConfigError(f"{origin}: {err}") from None
    return cfg
