"""benchmarks/throughput.py and transynth.benchmark.throughput: alternating timing, FLOP counts,
peaks and the parameter check (issue 25). Tiny presets at 16 px, one thread: a few seconds."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from transynth.benchmark import throughput as tp
from transynth.config import resolve_config
from transynth.data.types import DomainInfo
from transynth.registry import get_model_class

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "throughput.py"


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _script():
    spec = importlib.util.spec_from_file_location("throughput_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PEAKS = {"fp32": 1e9, "bf16": 2e9}


@pytest.mark.parametrize(
    "bc",
    [
        # a wrong reference count: measured at the reference size, so it is checked
        tp.BenchConfig("tiny-cyclegan", "cyclegan", "tiny", 16, reference={"total": 28.29}),
        # a synthetic folder (as the paper presets read) and a gradient penalty (autograd.grad)
        tp.BenchConfig("tiny-stargan", "stargan", "tiny", 16, 2, "domains"),
    ],
    ids=lambda bc: bc.name,
)
def test_measure_times_both_paths_alternately(bc, tmp_path):
    row = tp.measure(bc, steps=1, rounds=2, peaks=PEAKS, scratch=tmp_path)
    assert row["order"] == ["fp32", "default", "fp32", "default"]
    assert row["flops_per_step"] > 0 and row["image_size"] == 16
    for path in ("fp32", "default"):
        r = row[path]
        assert r["seconds_per_step"] > 0 and len(r["rounds"]) == 2
        assert r["data_seconds_per_step"] > 0 and r["warmup_seconds"] > 0
        assert r["flops_per_second"] == pytest.approx(row["flops_per_step"] / r["seconds_per_step"])
        assert (
            0
            < r["fraction_of_peak"]
            == pytest.approx(r["flops_per_second"] / PEAKS[r["precision"]])
        )
    assert row["fp32"]["precision"] == "fp32"
    assert row["speedup"] == pytest.approx(1 / row["ratio"])
    assert row["parameters"]["total"] == sum(
        v for k, v in row["parameters"].items() if k != "total"
    )
    line = _script().table_row(row)
    assert line.count("|") == len(_script().COLUMNS) + 1
    if bc.reference:
        assert row["parameter_check"] == "differs" and "DIFFERS from reference" in line
        assert row["parameter_warnings"][0].startswith("total: ")
    else:
        assert row["parameter_check"] == "none" and row["parameter_warnings"] == []


def test_the_default_path_is_the_preset_and_fp32_is_plain_eager():
    bc = tp.config_named("cyclegan-cpu")
    default, fp32 = tp.run_config(bc, {}), tp.run_config(bc, tp.FP32_EAGER)
    preset = resolve_config("cyclegan", preset="cpu")
    assert default.train.amp == preset.train.amp == "auto"
    assert (default.train.compile, default.train.channels_last) == (
        preset.train.compile,
        preset.train.channels_last,
    )
    assert default.model == preset.model and default.data == preset.data
    assert (fp32.train.amp, fp32.train.compile, fp32.train.channels_last) == ("none", False, False)
    paper = tp.run_config(tp.config_named("pix2pix-paper-256"), {}, size=32, data="/x")
    assert paper.data.image_size == 32 and paper.train.batch_size == 1
    assert paper.model.num_downs == 5 and paper.data.layout == "aligned"  # followed the side


def test_alternate_interleaves_rounds():
    log = []

    class Fake:
        def __init__(self, name):
            self.name = name

        def time(self, steps):
            log.append((self.name, steps))
            return 0.5 if self.name == "a" else 0.25, 0.01

    result = tp.alternate({"a": Fake("a"), "b": Fake("b")}, steps=2, rounds=3)
    assert log == [("a", 2), ("b", 2)] * 3
    assert result.order == ["a", "b"] * 3
    assert result.median("a") == 0.5 and result.median("b") == 0.25
    with pytest.raises(ValueError, match="rounds"):
        tp.alternate({"a": Fake("a")}, steps=1, rounds=0)


def test_flop_count_of_a_known_convolution():
    cin, cout, k, h, w = 3, 8, 3, 16, 12
    conv = torch.nn.Conv2d(cin, cout, k, padding=1)
    x = torch.randn(1, cin, h, w)
    forward = 2 * cin * cout * k * k * h * w
    with torch.no_grad():
        assert tp.count_flops(lambda: conv(x)) == forward
    x.requires_grad_(True)
    # backward: the gradients of the input and of the weight, each as costly as the forward
    assert tp.count_flops(lambda: conv(x).sum().backward()) == 3 * forward

    def penalty():  # double backward (WGAN-GP), which the per-module tracker would break
        (g,) = torch.autograd.grad(conv(x).sum(), x, create_graph=True)
        g.square().sum().backward()

    assert tp.count_flops(penalty) > 3 * forward


def test_matmul_peak_is_positive():
    assert tp.matmul_peak(torch.float32, n=64, reps=1) > 0
    assert tp.matmul_peak(torch.bfloat16, n=64, reps=1) > 0


def test_paper_presets_have_the_reference_parameter_counts():
    rgb = (DomainInfo("A", 3, None, ()), DomainInfo("B", 3, None, ()))
    for method in ("cyclegan", "pix2pix"):
        cfg = resolve_config(method, preset="paper", overrides={"data": {"image_size": 256}})
        model = get_model_class(method)(cfg.model, rgb, 256)
        counts = {n: sum(p.numel() for p in m.parameters()) for n, m in model.networks().items()}
        counts["total"] = sum(counts.values())
        assert tp.check_parameters(counts, tp.REFERENCE_PARAMETERS[method]) == []


def test_the_parameter_check_flags_a_wrong_count():
    good = {"G_AB": 11_378_179, "G_BA": 11_378_179, "D_A": 2_764_737, "D_B": 2_764_737}
    good["total"] = sum(good.values())
    assert tp.check_parameters(good, tp.REFERENCE_PARAMETERS["cyclegan"]) == []
    off = {**good, "G_BA": good["G_BA"] + 4_000, "total": good["total"] + 4_000}
    warnings = tp.check_parameters(off, tp.REFERENCE_PARAMETERS["cyclegan"])
    assert len(warnings) == 1 and warnings[0].startswith("G_BA: 11.38218")  # total still 28.29
    missing = tp.check_parameters({"total": 5}, {"G": 1.0})
    assert missing == ["no network 'G' to check against 1.0 M"]


def test_cpu_features_and_bad_names():
    cpu = tp.cpu_features()
    assert cpu["kind"] and cpu["torch_capability"] == torch.backends.cpu.get_cpu_capability()
    with pytest.raises(ValueError, match="accepted: cyclegan-paper-128"):
        tp.config_named("cyclegan-paper-512")
    with pytest.raises(SystemExit) as e:
        _script().main(["--only", "nope"])
    assert e.value.code == 2
    with pytest.raises(ValueError, match="accepted: unaligned, aligned, domains"):
        tp.synthetic_folder("/tmp/unused", "classes", 16)
