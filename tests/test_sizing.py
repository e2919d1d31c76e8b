"""Presets sized to the data: native size, cap, what follows the size, budget, user overrides."""

from __future__ import annotations

import importlib
import json

import numpy as np
import pytest
import yaml
from PIL import Image

import transynth
from transynth.cli import main
from transynth.data import native_size
from transynth.runfolder import RunFolder
from transynth.training.sizing import FOLLOW_RULES, plan_sizing, user_set_keys


def _unaligned(root, side: int, n: int = 6, height: int | None = None):
    """trainA/ trainB/ testA/ testB/ of random RGB images `side` wide, `height` high."""
    rng = np.random.default_rng(side)
    for split in ("trainA", "trainB", "testA", "testB"):
        (root / split).mkdir(parents=True)
        for i in range(n if split.startswith("train") else 2):
            pixels = rng.integers(0, 255, (height or side, side, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / split / f"{i:03d}.png")
    return root


def _aligned(root, side: int, n: int = 4):
    """train/ test/ of A|B images: each half `side` x `side`."""
    rng = np.random.default_rng(side)
    for split in ("train", "test"):
        (root / split).mkdir(parents=True)
        for i in range(n):
            pixels = rng.integers(0, 255, (side, 2 * side, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / split / f"{i}.jpg")
    return root


def test_native_size_reads_headers_of_every_layout(tmp_path):
    assert native_size(_unaligned(tmp_path / "u", 64)) == 64
    assert native_size(_aligned(tmp_path / "a", 48)) == 48  # one half of A|B
    assert native_size(_unaligned(tmp_path / "wide", 90, height=60)) == 60  # the shorter side
    assert native_size("mnist2uci") == 28 and native_size("printed2mnist") == 32
    with pytest.raises(ValueError, match="unknown task .*no-such-task.* Known tasks: mnist2uci"):
        native_size(str(tmp_path / "no-such-task"))


def test_native_size_of_a_huge_folder_reads_a_bounded_sample(tmp_path, monkeypatch):
    module = importlib.import_module("transynth.data.native_size")  # the function shadows it
    root = _unaligned(tmp_path / "u", 40, n=30)
    opened = []
    original = module.image_size_of
    monkeypatch.setattr(module, "image_size_of", lambda p: opened.append(p) or original(p))
    assert native_size(root, max_files=10) == 40
    assert len(opened) == 10


def test_follow_rules_give_the_documented_depths():
    assert [FOLLOW_RULES["unet"](s) for s in (32, 48, 64, 128)] == [5, 4, 6, 7]
    assert [FOLLOW_RULES["patchgan"](s) for s in (32, 64, 128)] == [2, 2, 3]
    assert [FOLLOW_RULES["to_2x2"](s) for s in (32, 64, 128)] == [4, 5, 6]


def _plan(method: str, task: str, overrides: dict | None = None):
    overrides = {**(overrides or {})}
    overrides["data"] = {**overrides.get("data", {}), "task": task}
    cfg = transynth.config.resolve_config(method, preset="cpu", overrides=overrides)
    return plan_sizing(cfg, "cpu", user_set_keys(overrides))


def test_a_200_px_folder_is_capped_and_the_networks_follow(tmp_path):
    folder = str(_aligned(tmp_path / "big", 200, n=2))
    plan = _plan("pix2pix", folder)
    assert plan.config.data.image_size == 128 and plan.record["cap"] == 128
    assert plan.record["data_size"] == 200 and plan.record["image_size_from"] == "sized to data"
    assert plan.config.model.num_downs == 7 and plan.config.model.d_layers == 3  # 1x1, 70x70
    assert plan.config.train.batch_size == 4  # 16 at 32 px, 16x the pixels, at least 4
    expected = plan.record["expected_seconds"]
    assert expected is not None and expected <= 15 * 60 + 1
    assert plan.config.train.steps <= 1500 * 16 // 4  # never more images than the preset sees
    unit = _plan("unit", str(_unaligned(tmp_path / "u200", 200, n=2)))
    assert unit.config.data.image_size == 64 and unit.config.model.d_layers == 5  # cap 64, 2x2


def test_user_set_size_wins_and_digit_presets_keep_their_size(tmp_path):
    folder = str(_unaligned(tmp_path / "u", 64))
    plan = _plan("stargan", folder, {"data": {"image_size": 48}, "train": {"steps": 7}})
    assert plan.config.data.image_size == 48 and plan.config.train.steps == 7
    assert plan.config.model.d_layers == 4  # 48 / 2^4 = 3x3, the most that divides 48
    assert "user-set --data.image_size" in plan.line and "7 steps (user-set)" in plan.line
    digits = _plan("cyclegan", "mnist2uci")
    assert digits.config == transynth.config.resolve_config(
        "cyclegan", preset="cpu", overrides={"data": {"task": "mnist2uci"}}
    )
    assert digits.record["data_size"] == 28 and digits.config.data.image_size == 32
    fixed = _plan("dtn", folder)  # digit-scale networks: capped at 32 px
    assert fixed.config.data.image_size == 32 and fixed.record["cap"] == 32


def test_a_64_px_folder_trains_at_64_and_records_why(tmp_path, capsys):
    folder = _unaligned(tmp_path / "u", 64)
    out = tmp_path / "run"
    args = ["train", "cyclegan", "--data", str(folder), "--out", str(out), "--steps", "2"]
    quiet = ["--train.progress=false", "--train.tensorboard=false", "--train.evaluate=false"]
    assert main([*args, *quiet]) == 0
    printed = capsys.readouterr().out.splitlines()[0]
    assert printed.startswith("image size 64 px (sized to data; data 64 px, cap 128), d_layers 2")
    assert "batch 2, 2 steps (user-set), precision " in printed and "expected " in printed
    record = RunFolder(out).read_sizing()
    assert record["image_size"] == 64 and record["image_size_from"] == "sized to data"
    assert record["batch_size"] == 2 and record["steps_from"] == "user-set"
    assert record["line"] == printed and record["cost_model"]["seconds_per_step"] > 0
    config = yaml.safe_load(RunFolder(out).config.read_text())
    assert config["data"]["image_size"] == 64 and config["train"]["batch_size"] == 2
    assert transynth.load(out).image_size == 64
    json.dumps(record)  # plain JSON
