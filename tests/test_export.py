"""`Method.export` / `transynth export`: stand-alone graphs that reproduce the method."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import task_for
from test_cli import TINY_ARGS
from test_models import build
from torch import nn

import transynth
from transynth.cli import main
from transynth.export import ExportError, ExportSpec, export_spec
from transynth.registry import get_model_class

# Every method whose translation is a graph (CDRD translates by optimising a latent code: its
# translation_export_blocker says so, and it exports only its sampler).
TRANSLATORS = [
    m
    for m in transynth.list_models()
    if get_model_class(m).capabilities.translates
    and get_model_class(m).translation_export_blocker is None
]


def _loaded(path):
    return torch.export.load(str(path)).module()


def _target(model) -> str:
    return model.domains[1].name if model.name == "stargan" else "AtoB"


@pytest.mark.parametrize("method", TRANSLATORS)
def test_translation_graph_reproduces_the_method(method, tmp_path):
    model = build(method, task_for(method)).eval()
    path = tmp_path / f"{method}.pt2"
    contract = model.export(path, direction=_target(model))
    assert path.is_file() and json.loads(path.with_suffix(".json").read_text()) == contract
    assert contract["verified"]["max_abs_difference"] <= 1e-4
    assert [i["name"] for i in contract["inputs"]] == ["image"]
    # an input the export never saw, at batch 1, against the method's own translation
    channels = contract["inputs"][0]["shape"][1]
    x = torch.rand(1, channels, 16, 16, generator=torch.Generator().manual_seed(7)) * 2 - 1
    with torch.no_grad():
        want = model.translate_tensor(x, model.resolve_direction(_target(model)))
        got = _loaded(path)(x)
    assert got.shape == want.shape
    torch.testing.assert_close(got, want.float(), atol=1e-5, rtol=0)


def test_free_sides_are_kept_only_where_the_graph_takes_them(tmp_path):
    cyclegan = build("cyclegan", task_for("cyclegan")).eval()
    contract = cyclegan.export(tmp_path / "c.pt2")
    assert contract["inputs"][0]["shape"] == ["batch", 1, "height", "width"]
    assert contract["inputs"][0]["side_multiple"] == cyclegan.size_multiple("AtoB") == 4
    x = torch.rand(2, 1, 24, 40) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(
            _loaded(tmp_path / "c.pt2")(x), cyclegan.translate_tensor(x, "AtoB"), atol=1e-5, rtol=0
        )
    # the tiny pix2pix U-Net has a 1x1 bottleneck at 16 px: tracing fixes its sides
    pix2pix = build("pix2pix", task_for("pix2pix")).eval()
    contract = pix2pix.export(tmp_path / "p.pt2")
    assert contract["inputs"][0]["shape"] == ["batch", 1, 16, 16]
    assert contract["sides"] == "fixed at the trained size"


def test_sampler_graphs_match_sample(tmp_path):
    acgan = build("acgan", task_for("acgan")).eval()
    acgan.export(tmp_path / "acgan.pt2", sampler=True)
    noise = torch.randn(5, acgan.config.noise_dim, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        got = _loaded(tmp_path / "acgan.pt2")(noise, torch.full((5,), 2))
    torch.testing.assert_close(got, acgan.sample(5, labels=2, seed=3), atol=1e-5, rtol=0)

    cdrd = build("cdrd", task_for("cdrd")).eval()
    contract = cdrd.export(tmp_path / "cdrd.pt2", sampler=True)
    assert [o["name"] for o in contract["outputs"]] == list(cdrd._sample_names())
    z = torch.randn(3, cdrd.config.z_dim, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        got = _loaded(tmp_path / "cdrd.pt2")(z, torch.tensor([0, 1, 1]))
    want = cdrd.sample(3, labels=[0, 1, 1], seed=4)
    for g, w in zip(got, want.values(), strict=True):
        torch.testing.assert_close(g, w, atol=1e-5, rtol=0)


def test_infogan_sampler_takes_its_codes_by_group(tmp_path):
    model = build("infogan", task_for("infogan")).eval()
    contract = model.export(tmp_path / "g.pt2", sampler=True)
    assert [i["name"] for i in contract["inputs"]] == ["noise", "codes_cat", "codes_cont"]
    assert contract["inputs"][1]["dtype"] == "int64"
    noise, cat, cont = model._draw(4, torch.Generator().manual_seed(9))
    cat[:, 0], cont[:, 0] = 1, 0.5
    with torch.no_grad():
        got = _loaded(tmp_path / "g.pt2")(noise, cat, cont)
    want = model.sample(4, codes={"c1": 1, "c2": 0.5}, seed=9)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=0)


def test_stargan_exports_one_graph_for_every_target(tmp_path):
    model = build("stargan", task_for("stargan")).eval()
    contract = model.export(tmp_path / "s.pt2", conditional=True)
    assert [i["name"] for i in contract["inputs"]] == ["image", "target"]
    assert contract["inputs"][1]["columns"] == list(model.labels.sets[0].names)
    graph = _loaded(tmp_path / "s.pt2")
    x = torch.rand(2, model.domains[0].channels, 16, 16) * 2 - 1
    for name in model.labels.sets[0].names:  # each row of targets = that domain's translation
        block = torch.tensor([[float(n == name) for n in model.labels.sets[0].names]] * 2)
        with torch.no_grad():
            got = graph(x, block)
            want = model.translate_tensor(x, name)
        torch.testing.assert_close(got, want, atol=1e-5, rtol=0)
    with pytest.raises(ExportError, match="no target input"):
        build("cyclegan", task_for("cyclegan")).export(tmp_path / "c.pt2", conditional=True)


def test_onnx_graphs_run_in_onnxruntime(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    model = build("cyclegan", task_for("cyclegan")).eval()
    contract = model.export(tmp_path / "c.onnx", direction="BtoA")
    assert contract["format"] == "onnx"
    session = ort.InferenceSession(str(tmp_path / "c.onnx"))
    assert [i.name for i in session.get_inputs()] == ["image"]
    x = torch.rand(3, 1, 32, 20) * 2 - 1
    with torch.no_grad():
        want = model.translate_tensor(x, "BtoA")
    (got,) = session.run(None, {"image": x.numpy()})
    torch.testing.assert_close(torch.from_numpy(got), want, atol=1e-4, rtol=0)

    infogan = build("infogan", task_for("infogan")).eval()
    infogan.export(tmp_path / "g.onnx", sampler=True)
    session = ort.InferenceSession(str(tmp_path / "g.onnx"))
    noise, cat, cont = infogan._draw(2, torch.Generator().manual_seed(1))
    feed = {"noise": noise.numpy(), "codes_cat": cat.numpy(), "codes_cont": cont.numpy()}
    with torch.no_grad():
        want = infogan._generate(noise, cat, cont)
    (got,) = session.run(None, feed)
    torch.testing.assert_close(torch.from_numpy(got), want, atol=1e-4, rtol=0)


class _Drifting(nn.Module):
    """Adds how often it has been called: the traced graph keeps the count of the trace."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return inputs[0] + self.calls


def test_a_graph_that_differs_is_not_written(tmp_path):
    model = build("cyclegan", task_for("cyclegan"))
    spec = ExportSpec(_Drifting(), {"image": torch.zeros(2, 1, 16, 16)}, ("out",))
    path = tmp_path / "bad.pt2"
    with pytest.raises(ExportError, match="differs from cyclegan"):
        export_spec(model, path, spec)
    assert list(tmp_path.iterdir()) == []


def test_exports_that_cannot_be_made_are_explained(tmp_path):
    cdrd = build("cdrd", task_for("cdrd"))
    with pytest.raises(ExportError, match="G inversion.*--sampler"):
        cdrd.export(tmp_path / "x.pt2")
    with pytest.raises(ExportError, match="generates from noise.*--sampler"):
        build("acgan", task_for("acgan")).export(tmp_path / "x.pt2")
    with pytest.raises(ValueError, match="does not take label"):
        build("cyclegan", task_for("cyclegan")).export(tmp_path / "x.pt2", label=3)
    with pytest.raises(ExportError, match="no sampler"):
        build("cyclegan", task_for("cyclegan")).export(tmp_path / "x.pt2", sampler=True)
    with pytest.raises(ExportError, match="FILE.pt2 or FILE.onnx"):
        build("dtn", task_for("dtn")).export(tmp_path / "x.bin")
    with pytest.raises(ExportError, match="names a pt2 file but the format asked is onnx"):
        build("dtn", task_for("dtn")).export(tmp_path / "x.pt2", fmt="onnx")
    with pytest.raises(ValueError, match="accepted: AtoB"):
        build("dtn", task_for("dtn")).export(tmp_path / "x.pt2", direction="BtoA")
    assert list(tmp_path.iterdir()) == []


def test_cli_export(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "cyclegan", "--steps", "2", "--out", str(run), *TINY_ARGS]) == 0
    out = tmp_path / "g.pt2"
    assert main(["export", str(run), "--out", str(out), "--direction", "BtoA"]) == 0
    printed = capsys.readouterr().out
    assert "translation uci-digits -> mnist" in printed and out.is_file()
    contract = json.loads(out.with_suffix(".json").read_text())
    assert contract["task"] == "mnist2uci" and contract["trained_steps"] == 2
    loaded = transynth.load(run)
    x = torch.rand(1, 1, 16, 16) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(_loaded(out)(x), loaded.translate_tensor(x, "BtoA"))
    assert main(["export", str(run), "--out", str(tmp_path / "g.bin")]) == 2
    assert "FILE.pt2 or FILE.onnx" in capsys.readouterr().err
    assert main(["export", str(run), "--out", str(out), "--sampler", "--label", "1"]) == 2
    assert "take no --to, --label or --set" in capsys.readouterr().err
