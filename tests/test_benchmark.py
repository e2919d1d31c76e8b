"""`transynth benchmark`: suite selection, result files and tables."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from transynth.benchmark import runner as bm


def test_suites_select_entries_and_unknown_names_are_listed():
    quick = bm.select(["quick"])
    assert quick and all("quick" in e.suites for e in quick)
    assert {e.method for e in quick} >= {"pix2pix", "cyclegan"}
    assert bm.select(["cyclegan-mnist2uci", "quick"])[0].name == "cyclegan-mnist2uci"
    with pytest.raises(ValueError, match="suites: quick"):
        bm.select(["slowest"])


def test_every_entry_names_a_registered_method_and_a_valid_preset():
    import transynth
    from transynth.config import resolve_config

    for entry in bm.ENTRIES:
        assert entry.method in transynth.list_models(), entry.name
        resolve_config(entry.method, preset=entry.preset, overrides=list(entry.overrides))


def test_run_benchmark_writes_json_markdown_and_html(tmp_path, monkeypatch):
    entry = bm.BenchmarkEntry("toy", "cyclegan", "mnist2uci", headline=("AtoB/fid",))
    monkeypatch.setattr(bm, "ENTRIES", (entry,))

    def fake_run(e, out, steps=None):
        return bm.BenchmarkResult(e, 10, 2, 32, "none", 1.5, 2.0, {"AtoB/fid": 3.25, "x": 1.0})

    monkeypatch.setattr(bm, "run_entry", fake_run)
    table = bm.run_benchmark(["toy"], out=tmp_path, results=tmp_path / "r.json")
    saved = json.loads((tmp_path / "r.json").read_text())
    assert saved == table and saved["toy"]["metrics"]["AtoB/fid"] == 3.25
    md = (tmp_path / "r.md").read_text()
    assert "| toy | cyclegan | mnist2uci | 10 x 2 | 32 px |" in md and "AtoB/fid 3.25" in md
    assert "<table>" in (tmp_path / "r.html").read_text()


def test_with_seed_renames_and_reseeds_without_stacking_seeds():
    entry = bm.BenchmarkEntry("toy", "cyclegan", "mnist2uci", ("train.steps=5",))
    assert bm.with_seed(entry, 0) == entry
    two = bm.with_seed(entry, 2)
    assert two.name == "toy-seed2" and two.overrides == ("train.steps=5", "train.seed=2")
    again = bm.with_seed(two, 3)
    assert again.name == "toy-seed3" and again.overrides == ("train.steps=5", "train.seed=3")
    assert bm.with_seed(two, 0) == entry
    with pytest.raises(ValueError, match=">= 0"):
        bm.with_seed(entry, -1)


def test_run_benchmark_on_seeds_adds_the_spread_and_the_test_set_intervals(tmp_path, monkeypatch):
    entry = bm.BenchmarkEntry(
        "toy", "cyclegan", "mnist2uci", headline=("AtoB/translation_accuracy",)
    )
    monkeypatch.setattr(bm, "ENTRIES", (entry,))
    trained = []

    def fake_run(e, out, steps=None):
        trained.append((e.name, e.overrides))
        accuracy = {"toy": 0.6, "toy-seed1": 0.7, "toy-seed2": 0.8}[e.name]
        metrics = {"AtoB/translation_accuracy": accuracy, "AtoB/num_images": 400.0}
        return bm.BenchmarkResult(e, 10, 2, 32, "none", 1.0, 1.0, metrics)

    monkeypatch.setattr(bm, "run_entry", fake_run)
    table = bm.run_benchmark(["toy"], out=tmp_path, seeds=[0, 1, 2])
    assert trained == [
        ("toy", ()),
        ("toy-seed1", ("train.seed=1",)),
        ("toy-seed2", ("train.seed=2",)),
    ]
    assert set(table) == {"toy", "toy-seed1", "toy-seed2"}
    md = (tmp_path / "benchmark.md").read_text()
    low, high = bm.accuracy_interval("AtoB/translation_accuracy", table["toy"]["metrics"])
    assert f"AtoB/translation_accuracy 0.6 [{low:.3f}, {high:.3f}]" in md
    assert "## Across seeds" in md
    assert "| toy | cyclegan | mnist2uci | 0, 1, 2 | AtoB/translation_accuracy | 0.7 +- 0.1 |" in md
    assert "Across seeds" in (tmp_path / "benchmark.html").read_text()

    # The tables can be rebuilt from the results file alone, training nothing.
    (tmp_path / "benchmark.md").unlink()
    bm.write_tables(tmp_path / "benchmark.json")
    assert (tmp_path / "benchmark.md").read_text() == md
    with pytest.raises(FileNotFoundError, match="no benchmark results"):
        bm.write_tables(tmp_path / "missing.json")


def _aligned_folder(root, n_train: int = 4, n_test: int = 3) -> None:
    """A tiny pix2pix folder: 32 x 16 A|B images (B = A's colours inverted)."""
    rng = np.random.default_rng(0)
    for split, n in (("train", n_train), ("test", n_test)):
        (root / split).mkdir(parents=True)
        for k in range(n):
            a = rng.integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
            Image.fromarray(np.concatenate([a, 255 - a], axis=1)).save(root / split / f"{k}.png")


def test_run_entry_trains_evaluates_and_reports_one_tiny_entry(tmp_path, monkeypatch):
    """run_entry for real (no mock): a 2-step pix2pix on a folder task, its result read back
    from the run folder, the metrics recomputed from the saved model."""
    import transynth
    from transynth.eval.metrics import l1, psnr
    from transynth.training.precision import resolve_amp

    monkeypatch.delenv("TRANSYNTH_INCEPTION_WEIGHTS", raising=False)
    _aligned_folder(tmp_path / "data")
    tiny = ("model.ngf=4", "model.ndf=4", "model.num_downs=4", "model.d_layers=1")
    entry = bm.BenchmarkEntry(
        "tiny-pix2pix",
        "pix2pix",
        str(tmp_path / "data"),
        (*tiny, "data.image_size=16", "train.batch_size=2", "train.amp=auto"),
        headline=("l1", "psnr"),
    )
    result = bm.run_entry(entry, tmp_path / "runs", steps=2)
    run_dir = tmp_path / "runs" / "tiny-pix2pix"
    written = json.loads((run_dir / "metrics.json").read_text())
    assert result.metrics == written["metrics"] and written["step"] == 2
    assert (result.steps, result.batch_size, result.image_size) == (2, 2, 16)
    # the mode the run used: train.amp=auto resolved for this CPU (bf16 where native)
    assert result.amp == written["amp"] == resolve_amp("auto", torch.device("cpu"))
    # the training time is the last logged step's clock (2 tiny steps may round to 0.0 s)
    last_logged = json.loads((run_dir / "log.jsonl").read_text().splitlines()[-1])["time"]
    assert result.train_time_s == round(last_logged, 1) <= result.wall_time_s
    model = transynth.load(run_dir)
    assert model.trained_steps == 2
    task = transynth.data.build_task(str(tmp_path / "data"), 16, seed=0)
    (xa, _), (xb, _) = task.test.domain_tensors(0), task.test.domain_tensors(1)
    with torch.no_grad():
        fake = model.translate(xa, "AtoB")
    assert result.metrics["num_images"] == len(xa) == 3
    assert result.metrics["l1"] == pytest.approx(l1(fake, xb), rel=1e-5)
    assert result.metrics["psnr"] == pytest.approx(psnr(fake, xb), rel=1e-5)
    row = result.to_dict()
    assert row["task"] == str(tmp_path / "data") and row["metrics"]["l1"] == result.metrics["l1"]
