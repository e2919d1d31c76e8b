"""Adding a method is one model file plus one config folder (docs/CONTRIBUTING.md).

tests/plugin_example/toyplugin holds a throwaway method, ``toynet``, outside transynth: a model
file and ``configs/toynet/``. Named in $TRANSYNTH_METHODS, it must appear in every place a
built-in method does, with nothing in transynth edited.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parent / "plugin_example"
TESTS = Path(__file__).parent


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory) -> dict[str, str]:
    """An environment that imports the example package from a temporary copy of it."""
    root = tmp_path_factory.mktemp("plugin")
    shutil.copytree(EXAMPLE / "toyplugin", root / "toyplugin")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(root), *filter(None, [env.get("PYTHONPATH")])])
    env["TRANSYNTH_METHODS"] = "toyplugin.toynet"
    env["OMP_NUM_THREADS"] = "1"
    return env


def _cli(env: dict[str, str], *args: str, cwd: Path | None = None) -> str:
    exe = shutil.which("transynth")
    command = [exe] if exe else [sys.executable, "-m", "transynth.cli"]
    done = subprocess.run(
        [*command, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_method_is_in_the_cli_table_and_trains(plugin_env, tmp_path):
    table = _cli(plugin_env, "models")
    assert any(line.startswith("toynet ") for line in table.splitlines()), table
    run = tmp_path / "run"
    _cli(plugin_env, "train", "toynet", "--preset", "tiny", "--steps", "3", "--out", str(run))
    assert (run / "model.safetensors").is_file()


def test_the_benchmark_finds_and_runs_its_entry(plugin_env, tmp_path):
    _cli(plugin_env, "benchmark", "toynet-edges2mnist", "--out", str(tmp_path))
    results = json.loads((tmp_path / "benchmark.json").read_text())
    assert results["toynet-edges2mnist"]["method"] == "toynet"
    assert results["toynet-edges2mnist"]["steps"] == 3
    assert "psnr" in results["toynet-edges2mnist"]["metrics"]


def test_the_registry_parametrised_tests_include_it(plugin_env):
    files = ["test_models.py", "test_export.py", "test_cuda.py", "test_config.py"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-p", "no:cacheprovider", *files],
        env=plugin_env,
        cwd=TESTS,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    collected = done.stdout.splitlines()
    for name in files:
        assert any(
            f"{name}::" in line and "toynet" in line.partition("[")[2] for line in collected
        ), name
