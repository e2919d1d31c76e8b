"""`transynth benchmark`: suite selection, result files and tables."""

from __future__ import annotations

import json

import pytest

from transynth.eval import benchmark as bm


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
