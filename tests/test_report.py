"""The offline HTML run report."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from transynth.eval.report import write_report


def _png(path: Path, value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 8, 3), value, dtype=np.uint8)).save(path)


def _full_run(tmp_path: Path, n_grids: int = 12) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text(
        "method: cyclegan\ndata:\n  task: mnist-to-usps\ntrain:\n  steps: 1100  # <b>\n"
    )
    lines = [
        json.dumps(
            {"step": s, "time": s * 0.5, "g/gan_A": 1.0 / (s + 1), "d/real_B": 0.5, "lr/g": 2e-4}
        )
        for s in range(0, 1100, 100)
    ]
    lines.append('{"step": 1100, "time": 55.0, "g/gan_A": 0.1, "note": "text", "flag": true}')
    lines.append('{"step": 1200, "g/ga')  # cut short by a crash
    (run / "log.jsonl").write_text("\n".join(lines) + "\n")
    for i in range(n_grids):
        _png(run / "samples" / f"step_{i * 100:07d}.png", i)
    (run / "metrics.json").write_text(
        json.dumps(
            {
                "step": 1100,
                "metrics": {
                    "AtoB/fid": 12.345678,
                    "AtoB/kid": 0.000123,
                    "AtoB/translation_accuracy": 0.5,
                    "AtoB/num_images": 100,
                },
            }
        )
    )
    return run


def _embedded_pngs(text: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', text)]


def test_full_report(tmp_path: Path) -> None:
    run = _full_run(tmp_path)
    out = write_report(run)
    assert out == run / "report.html"
    text = out.read_text()
    assert "<h1>cyclegan on mnist-to-usps</h1>" in text
    assert "steps: 1100  # &lt;b&gt;" in text  # config shown, escaped
    assert "AtoB/fid" in text and "12.35" in text and "1.230e-04" in text
    assert "0.404 - 0.596" in text  # Wilson interval of 50% over 100 images
    # offline: nothing fetched from elsewhere
    assert not re.search(r'(src|href)="(?!data:)', text)
    assert "<script" not in text
    pngs = _embedded_pngs(text)
    assert all(p.startswith(b"\x89PNG") for p in pngs)
    # 1 curve figure + 8 grids: evenly spaced, in step order, the first and the last included
    assert len(pngs) == 9
    steps = [int(s) for s in re.findall(r"<figcaption>step (\d+)</figcaption>", text)]
    assert len(steps) == 8 and steps == sorted(steps)
    assert steps[0] == 0 and steps[-1] == 1100
    assert not list(run.glob(".*.tmp"))


def test_curve_figure_has_one_subplot_per_group(tmp_path: Path, monkeypatch) -> None:
    import transynth.eval.report as report

    seen = {}
    original = report._plot_curves

    def spy(groups):
        seen.update(groups)
        return original(groups)

    monkeypatch.setattr(report, "_plot_curves", spy)
    write_report(_full_run(tmp_path))
    assert sorted(seen) == ["d", "g", "lr"]
    assert [s for s, _ in seen["g"]["g/gan_A"]][-1] == 1100.0
    assert "note" not in str(seen) and "flag" not in str(seen)


def test_few_grids_all_shown(tmp_path: Path) -> None:
    run = _full_run(tmp_path, n_grids=3)
    text = write_report(run).read_text()
    assert re.findall(r"<figcaption>step (\d+)</figcaption>", text) == ["0", "100", "200"]


def test_minimal_run_dir(tmp_path: Path) -> None:
    run = tmp_path / "empty-run"
    run.mkdir()
    text = write_report(run).read_text()
    assert "<h1>empty-run</h1>" in text
    assert "Metrics" not in text and "Samples" not in text and "<img" not in text


def test_missing_run_dir(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(FileNotFoundError, match="nope"):
        write_report(missing)


def test_rewrite_replaces_report(tmp_path: Path) -> None:
    run = _full_run(tmp_path)
    write_report(run)
    (run / "metrics.json").unlink()
    assert "AtoB/fid" not in write_report(run).read_text()


def test_the_sizing_decision_is_shown(tmp_path: Path) -> None:
    from transynth.runfolder import RunFolder

    line = "image size 64 px (sized to data; data 64 px, cap 128), batch 4, 3500 steps"
    RunFolder(tmp_path).write_sizing({"image_size": 64, "line": line})
    text = write_report(tmp_path).read_text()
    assert f"Sizing: {line}" in text
