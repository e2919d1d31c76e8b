"""Translation at the trained scale: inputs resized to the training size and back; --native."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_task
from PIL import Image
from test_models import build

from transynth.cli import main
from transynth.data.scale import trained_scale_size
from transynth.inference import translate_tiled


def _model(method: str):
    """A tiny `method` trained (initialised) at 32 px."""
    from transynth.registry import get_model_class

    kind = get_model_class(method).capabilities.data_kinds[0]
    return build(method, make_task(kind, size=32)).eval()


def _generator_inputs(model) -> list[tuple[int, int]]:
    """Record the (height, width) of every batch the model's generator is asked to translate."""
    seen: list[tuple[int, int]] = []
    original = model.translate_tensor

    def spy(x, direction, **condition):
        seen.append(tuple(x.shape[-2:]))
        return original(x, direction, **condition)

    model.translate_tensor = spy
    return seen


def _picture(width: int, height: int) -> Image.Image:
    rng = np.random.default_rng(width * height)
    return Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8))


def test_trained_scale_keeps_the_aspect_or_squares():
    assert trained_scale_size(96, 64, 32) == (48, 32)
    assert trained_scale_size(64, 96, 32) == (32, 48)
    assert trained_scale_size(96, 64, 32, square=True) == (32, 32)
    with pytest.raises(ValueError, match="positive"):
        trained_scale_size(0, 5, 32)


@pytest.mark.parametrize("method", ["cyclegan", "pix2pix"])
def test_a_96x64_input_runs_at_the_trained_scale_and_comes_back_96x64(method):
    model = _model(method)
    seen = _generator_inputs(model)
    out = model.translate(_picture(96, 64))
    assert out.size == (96, 64)
    assert seen == [(32, 48)]  # shorter side 32: the generator saw the trained scale
    assert model.translate(_picture(96, 64), native=True).size == (96, 64)
    assert seen[-1] == (64, 96)  # --native: the full resolution


def test_a_fixed_size_generator_gets_a_square_and_refuses_native():
    model = _model("dtn")
    seen = _generator_inputs(model)
    assert model.translate(_picture(96, 64)).size == (96, 64)
    assert seen == [(32, 32)]
    with pytest.raises(ValueError, match="native resolution: its f and g .* without --native"):
        model.translate(_picture(96, 64), native=True)


def test_tiles_are_cut_at_the_trained_scale_unless_native():
    model = _model("cyclegan")
    seen = _generator_inputs(model)
    image = _picture(96, 64)
    tiled = translate_tiled(model, image, tile=24, overlap=4, statistics="tile")
    assert tiled.size == (96, 64) and set(seen) == {(24, 24)} and len(seen) == 2 * 3
    seen.clear()
    whole = translate_tiled(model, image, tile=64, overlap=0, statistics="tile")
    assert seen == [(32, 48)]
    assert np.array_equal(np.asarray(whole), np.asarray(model.translate(image)))
    seen.clear()
    translate_tiled(model, image, tile=48, overlap=8, statistics="tile", native=True)
    assert set(seen) == {(48, 48)} and len(seen) == 2 * 3


def test_translate_on_the_command_line_at_the_trained_scale_and_native(
    tmp_path, tmp_path_factory, capsys
):
    from serve_fixtures import shared_runs_dir

    import transynth

    run = shared_runs_dir(tmp_path_factory) / "digits" / "cyclegan"
    trained = transynth.load(run).image_size
    source = tmp_path / "in.png"
    _picture(3 * trained, 2 * trained).save(source)
    args = ["translate", str(run), str(source), "--quiet"]
    assert main([*args, "--out", str(tmp_path / "scaled")]) == 0
    assert main([*args, "--out", str(tmp_path / "native"), "--native"]) == 0
    scaled = Image.open(tmp_path / "scaled" / "in_AtoB.png")
    native = Image.open(tmp_path / "native" / "in_AtoB.png")
    assert scaled.size == native.size == (3 * trained, 2 * trained)
    assert not np.array_equal(np.asarray(scaled), np.asarray(native))
    model = transynth.load(run)
    assert np.array_equal(np.asarray(scaled), np.asarray(model.translate(Image.open(source))))
    capsys.readouterr()


def test_native_is_refused_on_the_command_line_for_a_fixed_size_generator(tmp_path, capsys):
    from conftest import tiny_trainer

    run = tmp_path / "dtn"
    tiny_trainer("dtn", run, steps=1, evaluate=False).fit()
    source = tmp_path / "in.png"
    _picture(40, 30).save(source)
    args = ["translate", str(run), str(source), "--out", str(tmp_path / "out"), "--quiet"]
    assert main([*args, "--native"]) == 2
    assert "dtn cannot translate at the input's native resolution" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # refused before anything is written
    assert main(args) == 0
    assert Image.open(tmp_path / "out" / "in_AtoB.png").size == (40, 30)
