"""Configs: presets validate, unknown keys and bad values are rejected with clear messages."""

from __future__ import annotations

import pytest

import transynth
from transynth.config import (
    PRESETS,
    ConfigError,
    config_from_dict,
    parse_overrides,
    preset_path,
    resolve_config,
)


@pytest.mark.parametrize("method", transynth.list_models())
@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_exists_and_validates(method, preset):
    assert preset_path(method, preset).is_file()
    cfg = resolve_config(method, preset=preset)
    assert config_from_dict(cfg.to_dict()) == cfg  # round trip through config.yaml


def test_paper_defaults_are_the_papers():
    c = resolve_config("cyclegan", preset="paper")
    assert (c.model.lambda_cyc, c.model.lambda_identity, c.model.pool_size) == (10.0, 0.5, 50)
    assert (c.model.gan_mode, c.model.n_blocks, c.model.d_layers, c.data.image_size) == (
        "lsgan",
        9,
        3,
        256,
    )
    assert (c.model.lr, c.model.beta1, c.train.batch_size) == (2e-4, 0.5, 1)
    p = resolve_config("pix2pix", preset="paper")
    assert (p.model.lambda_l1, p.model.num_downs, p.model.gan_mode, p.model.dropout) == (
        100.0,
        8,
        "vanilla",
        0.5,
    )


def test_overrides_are_typed():
    cfg = resolve_config(
        "cyclegan", overrides=["model.lambda_cyc=5", "train.steps=7", "train.amp=bf16"]
    )
    assert cfg.model.lambda_cyc == 5.0 and isinstance(cfg.model.lambda_cyc, float)
    assert cfg.train.steps == 7 and cfg.train.amp == "bf16"


@pytest.mark.parametrize(
    "override, message",
    [
        (
            "model.lambda_cycle=5",
            "unknown key model.lambda_cycle; accepted keys of model: .*lambda_cyc",
        ),
        ("train.steps=ten", "train.steps='ten' has the wrong type; expected int"),
        ("train.amp=fp8", "train.amp='fp8' is not valid; expected none \\| auto \\| bf16 \\| fp16"),
        ("model.gan_mode=wasserstein", "model.gan_mode"),
        ("steps=3", "SECTION.KEY=VALUE"),
        ("optim.lr=3", "SECTION.KEY=VALUE"),
    ],
)
def test_bad_overrides_name_the_key_and_the_accepted_values(override, message):
    with pytest.raises(ConfigError, match=message):
        resolve_config("cyclegan", overrides=[override])


def test_unknown_preset_and_section_in_a_file(tmp_path):
    with pytest.raises(ConfigError, match="accepted presets: cpu, paper"):
        resolve_config("cyclegan", preset="huge")
    f = tmp_path / "c.yaml"
    f.write_text("optimizer: {lr: 1}\n")
    with pytest.raises(ConfigError, match="unknown section"):
        resolve_config("cyclegan", config_file=f)
    f.write_text("method: pix2pix\n")
    with pytest.raises(ConfigError, match="is for method 'pix2pix'"):
        resolve_config("cyclegan", config_file=f)
    f.write_text("model: {ngf: 8}\ntrain: {steps: 3}\n")
    cfg = resolve_config("cyclegan", config_file=f, overrides=["train.steps=4"])
    assert (cfg.model.ngf, cfg.train.steps) == (8, 4)


def test_configs_are_frozen():
    cfg = resolve_config("pix2pix")
    with pytest.raises(AttributeError):
        cfg.train.steps = 3  # type: ignore[misc]


def test_parse_overrides_yaml_scalars():
    assert parse_overrides(["--model.x=1e-3", "data.layout=null", "train.progress=false"]) == {
        "model": {"x": 1e-3},
        "data": {"layout": None},
        "train": {"progress": False},
    }
