"""The command line, end to end on a tiny run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from transynth.cli import main


def test_models_prints_the_comparison_table(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "cyclegan" in out and "pix2pix" in out and "unpaired data" in out


def test_unknown_method_exits_nonzero_with_the_known_names(capsys):
    assert main(["train", "cyclegann"]) == 2
    err = capsys.readouterr().err
    assert "unknown method 'cyclegann'" in err and "cyclegan" in err


def test_bad_override_exits_nonzero(capsys):
    assert main(["train", "cyclegan", "--model.lambda_cycle=3"]) == 2
    assert "lambda_cyc" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "cyclegan", "--foo=3"])


def test_benchmark_seeds_and_tables_only_reject_bad_input(capsys, tmp_path):
    with pytest.raises(SystemExit):
        main(["benchmark", "quick", "--seeds", "0,x"])
    assert "non-negative integers separated by commas" in capsys.readouterr().err
    missing = tmp_path / "none.json"
    assert main(["benchmark", "--tables-only", "--results", str(missing)]) == 2
    assert f"no benchmark results at {missing}" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    assert main(["benchmark", "--tables-only", "--results", str(bad)]) == 2
    assert "must hold a JSON object" in capsys.readouterr().err


def test_wrong_data_kind_is_explained(capsys, tmp_path):
    code = main(["train", "pix2pix", "--data", "mnist2uci", "--steps", "1", "--out", str(tmp_path)])
    assert code == 2
    assert "paired" in capsys.readouterr().err


TINY_ARGS = [
    "--model.ngf=4",
    "--model.ndf=4",
    "--model.n_blocks=1",
    "--model.d_layers=1",
    "--train.batch_size=2",
    "--train.progress=false",
    "--train.evaluate=false",
    "--data.image_size=16",
    "--train.tensorboard=false",
]


def test_train_then_translate_then_evaluate(tmp_path, capsys, monkeypatch):
    run = tmp_path / "run"
    assert main(["train", "cyclegan", "--steps", "3", "--out", str(run), *TINY_ARGS]) == 0
    assert (run / "model.safetensors").is_file() and (
        run / "checkpoints/last.safetensors"
    ).is_file()
    assert (run / "report.html").is_file() and list((run / "samples").glob("*.png"))
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    Image.new("L", (20, 28), 30).save(inputs / "a.png")
    Image.new("RGB", (16, 16), (9, 200, 9)).save(inputs / "b.jpg")
    out = tmp_path / "out"
    assert main(["translate", str(run), str(inputs), "--out", str(out), "--direction", "BtoA"]) == 0
    a = Image.open(out / "a_BtoA.png")
    assert a.size == (20, 28)
    assert (
        main(
            [
                "translate",
                str(run),
                str(inputs / "a.png"),
                "--out",
                str(out),
                "--direction",
                "sideways",
            ]
        )
        == 2
    )
    assert "accepted: AtoB, BtoA" in capsys.readouterr().err
    assert main(["translate", str(tmp_path / "missing"), str(inputs), "--out", str(out)]) == 2

    # evaluate: the metrics, accuracies with their 95% interval, rewritten into metrics.json
    # (the method's own evaluation is replaced: its evaluators take minutes to train)
    from conftest import replace_evaluation

    fake = {"AtoB/translation_accuracy": 0.5, "AtoB/num_images": 100.0, "AtoB/fid": 2.0}
    replace_evaluation(lambda model, task: dict(fake), monkeypatch)
    capsys.readouterr()
    assert main(["evaluate", str(run)]) == 0
    printed = capsys.readouterr().out
    assert "AtoB/translation_accuracy  0.5000  [0.4038, 0.5962]" in printed
    assert "AtoB/fid                   2.0000\n" in printed  # not an accuracy: no interval
    assert json.loads((run / "metrics.json").read_text()) == {
        "step": 3,
        "metrics": fake,
        "amp": None,  # trained with train.amp=auto and no metrics.json of its own to say which
        "checkpoint": "final",
        "task": "mnist2uci",
        "evaluated_by": "transynth evaluate",
    }


def _console_script() -> str:
    """The installed `transynth` script: next to this interpreter, else on PATH."""
    beside = Path(sys.executable).with_name("transynth")
    found = str(beside) if beside.is_file() else shutil.which("transynth")
    assert found, "the `transynth` console script is not installed (pip install -e .)"
    return found


def test_console_script_entry_point_runs():
    """The `transynth` script (not `python -m`) lists every registered model, from this source
    tree, and a failing command exits non-zero with the error on stderr."""
    import transynth

    env = {**os.environ, "PYTHONPATH": str(Path(transynth.__file__).parents[1])}
    out = subprocess.run(
        [_console_script(), "models"], capture_output=True, text=True, check=True, env=env
    )
    assert transynth.models_table() in out.stdout
    rows = out.stdout.split("\n\n")[0].splitlines()[2:]
    assert [row.split()[0] for row in rows] == sorted(transynth.list_models()), out.stdout
    bad = subprocess.run(
        [_console_script(), "train", "no-such-method"], capture_output=True, text=True, env=env
    )
    assert bad.returncode != 0 and "no-such-method" in bad.stderr, (bad.returncode, bad.stderr)
