"""A method's presets and the resolution of a run's config.

Values are layered, later layers winning:

    the method's config dataclass (the paper's defaults) -> preset YAML
    (configs/<method>/<preset>.yaml) -> user YAML (--config FILE) -> dotted overrides
    (--model.lambda_cyc=5)

A method's folder of settings, ``configs/<method>/``, holds its ``cpu``, ``paper`` and ``tiny``
(the test suite's) presets and its benchmark entries (``benchmarks.yaml``, read by
:mod:`transynth.benchmark`). Built-in methods keep it inside the package; a method from another
package keeps it beside its module (``<package>/configs/<method>/``) or names it in the class
attribute ``config_dir``. The types and their validation are in :mod:`transynth.runconfig`
(re-exported here).
"""

from __future__ import annotations

import inspect
from importlib import resources
from pathlib import Path
from typing import Any

from transynth.registry import get_model_class
from transynth.runconfig import (
    AMP_MODES,
    ConfigError,
    DataConfig,
    RunConfig,
    TrainConfig,
    apply_layer,
    check,
    parse_overrides,
    read_yaml,
)

#: The preset-file section read by preset_sizing (and left out of the config itself).
SIZING_SECTION = "sizing"

#: Presets every method has: minutes on a laptop CPU, the published scale, and the test suite's.
PRESETS = ("cpu", "paper", "tiny")


def config_dir(method: str) -> Path:
    """The folder of `method`'s presets and benchmark entries (see the module docstring)."""
    cls = get_model_class(method)
    explicit = getattr(cls, "config_dir", None)
    if explicit:
        return Path(explicit)
    builtin = Path(str(resources.files("transynth") / "configs" / method))
    if builtin.is_dir():
        return builtin
    beside = Path(inspect.getfile(cls)).parent / "configs" / method
    if beside.is_dir():
        return beside
    return builtin  # missing: preset_path names it in its error


def preset_path(method: str, preset: str) -> Path:
    """The YAML file of one of `method`'s presets."""
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; accepted presets: {', '.join(PRESETS)}")
    path = config_dir(method) / f"{preset}.yaml"
    if not path.is_file():
        raise ConfigError(f"method {method!r} has no {preset!r} preset (looked for {path})")
    return path


def resolve_config(
    method: str,
    *,
    preset: str = "cpu",
    config_file: str | Path | None = None,
    overrides: list[str] | dict[str, dict[str, Any]] | None = None,
) -> RunConfig:
    """Build the config of a run from the method's defaults, a preset, a file and overrides."""
    model_cls = get_model_class(method)
    cfg = RunConfig(
        method=method,
        model=model_cls.Config(),
        data=DataConfig(task=model_cls.default_task),
    )
    cfg = _apply_preset(cfg, preset, ())
    if config_file is not None:
        cfg = apply_layer(cfg, read_yaml(config_file), f"config file {config_file}")
    if overrides:
        if isinstance(overrides, list):
            overrides = parse_overrides(overrides)
        cfg = apply_layer(cfg, overrides, "command-line overrides")
    return cfg


def _apply_preset(cfg: RunConfig, preset: str, seen: tuple[str, ...]) -> RunConfig:
    """Apply a preset, after the preset it ``extends`` (e.g. tiny extends cpu)."""
    if preset in seen:
        raise ConfigError(f"presets of {cfg.method!r} extend each other: {' -> '.join(seen)}")
    layer = dict(read_yaml(preset_path(cfg.method, preset)))
    base = layer.pop("extends", None)
    layer.pop(SIZING_SECTION, None)  # read by preset_sizing, not a section of the config
    if base is not None:
        cfg = _apply_preset(cfg, str(base), (*seen, preset))
    return apply_layer(cfg, layer, f"preset {preset!r}")


def preset_layer(method: str, preset: str) -> dict[str, Any]:
    """The sections a preset sets, with those of the presets it extends merged under them."""
    layer = dict(read_yaml(preset_path(method, preset)))
    base = layer.pop("extends", None)
    layer.pop(SIZING_SECTION, None)
    merged = preset_layer(method, str(base)) if base is not None else {}
    for section, values in layer.items():
        merged[section] = {**merged.get(section, {}), **(values or {})}
    return merged


def preset_sizing(method: str, preset: str) -> dict[str, Any] | None:
    """The ``sizing`` block of one preset file (not inherited through ``extends``), or None.

    It says how the preset follows the data's resolution (transynth.training.sizing): a preset
    without one trains at its own data.image_size whatever the data. The tiny preset extends cpu
    but keeps its size: its networks are sized for the test suite."""
    block = read_yaml(preset_path(method, preset)).get(SIZING_SECTION)
    if block is None:
        return None
    if not isinstance(block, dict):
        raise ConfigError(
            f"{preset_path(method, preset)}: {SIZING_SECTION} must be a mapping, got {block!r}"
        )
    return dict(block)


def config_from_dict(data: dict[str, Any]) -> RunConfig:
    """The inverse of RunConfig.to_dict (used to reload a run's config.yaml)."""
    if "method" not in data:
        raise ConfigError("a run config must name its method")
    model_cls = get_model_class(data["method"])
    base = RunConfig(method=data["method"], model=model_cls.Config())
    return apply_layer(base, data, "run config")


__all__ = [
    "AMP_MODES",
    "PRESETS",
    "ConfigError",
    "DataConfig",
    "RunConfig",
    "TrainConfig",
    "apply_layer",
    "check",
    "config_dir",
    "config_from_dict",
    "parse_overrides",
    "preset_layer",
    "preset_path",
    "preset_sizing",
    "read_yaml",
    "resolve_config",
]
