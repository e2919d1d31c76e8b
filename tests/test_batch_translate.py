"""`transynth translate` over nested folders: structure kept, resumable, counted, tiled."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from serve_fixtures import shared_runs_dir

import transynth
from transynth.cli import main
from transynth.data import load_image
from transynth.inference import translate_tiled


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return shared_runs_dir(tmp_path_factory) / "digits" / "cyclegan"  # a 1-step tiny CycleGAN


def _images(root, names):
    for i, name in enumerate(names):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(i)
        Image.fromarray(rng.integers(0, 255, (18 + i, 21, 3), dtype=np.uint8)).save(path)
    return root


NESTED = ["a.png", "sub/b.png", "sub/deeper/c.jpg"]
OUTPUTS = ["a_AtoB.png", "sub/b_AtoB.png", "sub/deeper/c_AtoB.png"]


def test_nested_folders_keep_their_structure_and_resume(run, tmp_path, capsys):
    inputs = _images(tmp_path / "in", NESTED)
    (inputs / "sub" / "notes.txt").write_text("not an image")
    out = tmp_path / "out"
    assert main(["translate", str(run), str(inputs), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "translated 3 image(s), skipped 0 already written" in captured.out
    assert "3/3" in captured.err  # the progress bar
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == sorted(OUTPUTS)
    model = transynth.load(run)
    for source, target in zip(NESTED, OUTPUTS, strict=True):
        expected = np.asarray(model.translate(load_image(inputs / source)))
        assert np.array_equal(np.asarray(Image.open(out / target)), expected)

    assert main(["translate", str(run), str(inputs), "--out", str(out), "--quiet"]) == 0
    assert "translated 0 image(s), skipped 3 already written" in capsys.readouterr().out
    (out / OUTPUTS[1]).unlink()
    assert main(["translate", str(run), str(inputs), "--out", str(out), "--quiet"]) == 0
    assert "translated 1 image(s), skipped 2 already written" in capsys.readouterr().out
    assert (out / OUTPUTS[1]).is_file()
    assert main(["translate", str(run), str(inputs), "--out", str(out), "--overwrite"]) == 0
    assert "translated 3 image(s), skipped 0" in capsys.readouterr().out


def test_an_output_folder_inside_the_input_is_not_read_back(run, tmp_path, capsys):
    inputs = _images(tmp_path / "in", ["a.png", "b.png"])
    out = inputs / "translated"
    for _ in range(2):
        assert main(["translate", str(run), str(inputs), "--out", str(out), "--quiet"]) == 0
    assert "translated 0 image(s), skipped 2" in capsys.readouterr().out
    assert sorted(p.name for p in out.rglob("*.png")) == ["a_AtoB.png", "b_AtoB.png"]


def test_two_inputs_for_one_output_are_refused_before_anything_is_written(run, tmp_path, capsys):
    inputs = _images(tmp_path / "in", ["a.png", "a.jpg"])
    out = tmp_path / "out"
    assert main(["translate", str(run), str(inputs), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "a.jpg" in err and "a.png" in err and "would both be written" in err
    assert not out.exists() or not list(out.rglob("*"))


def test_unreadable_files_are_named_and_the_rest_translated(run, tmp_path, capsys):
    inputs = _images(tmp_path / "in", ["good.png", "sub/good2.png"])
    (inputs / "sub" / "broken.png").write_bytes(b"\x89PNG not really")
    out = tmp_path / "out"
    assert main(["translate", str(run), str(inputs), "--out", str(out), "--quiet"]) == 2
    printed = capsys.readouterr().out
    assert "translated 2 image(s)" in printed and "1 failed" in printed
    assert "broken.png" in printed
    assert (out / "good_AtoB.png").is_file() and (out / "sub/good2_AtoB.png").is_file()
    assert not (out / "sub/broken_AtoB.png").exists()


def test_an_interrupted_batch_leaves_whole_files_and_resumes(run, tmp_path, capsys, monkeypatch):
    inputs = _images(tmp_path / "in", NESTED)
    out = tmp_path / "out"
    cls = type(transynth.load(run))
    original, calls = cls.translate, {"n": 0}

    def interrupted(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cls, "translate", interrupted)
    assert main(["translate", str(run), str(inputs), "--out", str(out), "--quiet"]) == 130
    monkeypatch.setattr(cls, "translate", original)
    assert [p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()] == [OUTPUTS[0]]
    capsys.readouterr()
    assert main(["translate", str(run), str(inputs), "--out", str(out), "--quiet"]) == 0
    assert "translated 2 image(s), skipped 1" in capsys.readouterr().out


def test_tiled_translation_from_the_command_line(run, tmp_path, capsys):
    inputs = _images(tmp_path / "in", ["big.png"])
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (70, 90, 3), np.uint8)).save(
        inputs / "big.png"
    )
    out = tmp_path / "out"
    args = ["translate", str(run), str(inputs / "big.png"), "--out", str(out), "--quiet"]
    assert main([*args, "--tile", "32", "--overlap", "8"]) == 0
    got = np.asarray(Image.open(out / "big_AtoB.png"))
    model = transynth.load(run)
    expected = translate_tiled(model, load_image(inputs / "big.png"), tile=32, overlap=8)
    assert got.shape == (70, 90) and np.array_equal(got, np.asarray(expected))
    assert main([*args, "--overwrite", "--tile", "32", "--overlap", "20"]) == 2
    assert "overlap 20: must be between 0 and half the tile (16" in capsys.readouterr().err
