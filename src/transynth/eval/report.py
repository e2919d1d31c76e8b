"""A self-contained HTML report of a training run (opens offline: no external JS, CSS or images).

Reads from the run directory: ``config.yaml`` (the resolved config), ``log.jsonl`` (one JSON
object per line with "step", "time" and numeric values such as "g/gan_A", "d/real_B", "lr/g"),
``samples/step_*.png`` (sample grids) and ``metrics.json`` (``{"step": int, "metrics": {...}}``).
Every part is optional; missing or unreadable parts are left out of the report.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import pathlib
import re
from typing import Any

import yaml

from transynth.eval.metric_baselines import baseline_keys
from transynth.eval.selection import selection_note
from transynth.eval.uncertainty import accuracy_interval
from transynth.fileio import atomic_write_text
from transynth.runfolder import RunFolder

__all__ = ["write_report"]

#: At most this many sample grids are embedded (evenly spaced over the run, always the last).
MAX_SAMPLE_GRIDS = 8

_CSS = """
body { font-family: system-ui, -apple-system, Segoe UI, Roboto, sans-serif; margin: 2em auto;
       max-width: 1100px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
pre { background: #f6f8fa; padding: 1em; overflow-x: auto; font-size: 0.85em; }
table { border-collapse: collapse; } td, th { padding: 0.3em 0.9em; border-bottom: 1px solid #eee; }
td.num { text-align: right; font-family: ui-monospace, monospace; }
figure { margin: 1em 0; } figcaption { color: #555; font-size: 0.9em; }
img { max-width: 100%; image-rendering: pixelated; }
.meta { color: #555; }
"""


def _png_data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _read_config(run_dir: pathlib.Path) -> tuple[str | None, dict[str, Any]]:
    path = RunFolder(run_dir).config
    if not path.is_file():
        return None, {}
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError:
        parsed = None
    return text, parsed if isinstance(parsed, dict) else {}


def _find_name(config: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    """First string found at one of the dotted `keys` (a dict found there yields its "name")."""
    for key in keys:
        node: Any = config
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node = node.get("name")
        if isinstance(node, str) and node:
            return node
    return None


def _read_log(run_dir: pathlib.Path) -> list[dict[str, Any]]:
    path = RunFolder(run_dir).log
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue  # e.g. a line cut short by a crash
        if isinstance(rec, dict):
            records.append(rec)
    return records


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _group_series(records: list[dict[str, Any]]) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """{group: {key: [(step, value), ...]}} for every numeric key except step/time."""
    groups: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for i, rec in enumerate(records):
        step = rec.get("step", i)
        if not _is_number(step):
            continue
        for key, value in rec.items():
            if key in ("step", "time") or not _is_number(value):
                continue
            group = key.split("/", 1)[0] if "/" in key else "other"
            groups.setdefault(group, {}).setdefault(key, []).append((float(step), float(value)))
    return groups


def _plot_curves(groups: dict[str, dict[str, list[tuple[float, float]]]]) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = sorted(groups)
    ncols = 1 if len(names) == 1 else 2
    nrows = math.ceil(len(names) / ncols)
    fig = Figure(figsize=(6.0 * ncols, 3.4 * nrows), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        for key in sorted(groups[name]):
            points = sorted(groups[name][key])
            ax.plot([p[0] for p in points], [p[1] for p in points], label=key, linewidth=1.2)
        ax.set_title(name)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _sample_grids(run_dir: pathlib.Path) -> list[tuple[int, pathlib.Path]]:
    """At most MAX_SAMPLE_GRIDS (step, path) in step order, evenly spaced, always the last."""
    folder = RunFolder(run_dir).samples
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob("step_*.png"):
        m = re.fullmatch(r"step_(\d+)\.png", path.name)
        if m and path.is_file():
            found.append((int(m.group(1)), path))
    found.sort()
    n = len(found)
    if n <= MAX_SAMPLE_GRIDS:
        return found
    picks = sorted({round(i * (n - 1) / (MAX_SAMPLE_GRIDS - 1)) for i in range(MAX_SAMPLE_GRIDS)})
    return [found[i] for i in picks]


def _interval_text(name: str, values: dict[str, Any]) -> str:
    """The Wilson interval of accuracy `name` when its count is in `values`, else empty."""
    try:
        interval = accuracy_interval(name, values)
    except (TypeError, ValueError):  # a non-numeric metric in a hand-written file
        return ""
    return "" if interval is None else f"{interval[0]:.3f} - {interval[1]:.3f}"


def _read_metrics(run_dir: pathlib.Path) -> tuple[Any, dict[str, Any]] | None:
    path = RunFolder(run_dir).metrics
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict):
        return None
    return data.get("step"), data["metrics"]


def _format_value(v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return html.escape(str(v))
    if isinstance(v, int):
        return str(v)
    if not math.isfinite(v):
        return str(v)
    return f"{v:.4g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.3e}"


def _metrics_table(values: dict[str, Any]) -> str:
    """The metric table: each metric with its baseline beside it (see
    :mod:`transynth.eval.metric_baselines`; a baseline shown there gets no row of its own)."""
    esc = html.escape
    base = baseline_keys(values)
    shown = set(base.values())

    def baseline_cell(k: str) -> str:
        if k not in base:
            return '<td class="num"></td><td></td>'
        b = base[k]
        return (
            f'<td class="num">{_format_value(values[b])}</td><td>{esc(b.rpartition("/")[2])}</td>'
        )

    rows = "".join(
        f'<tr><td>{esc(str(k))}</td><td class="num">{_format_value(values[k])}</td>'
        f"{baseline_cell(k)}"
        f'<td class="num">{_interval_text(k, values)}</td></tr>'
        for k in sorted(values)
        if k not in shown
    )
    return (
        "<p>Baseline: what doing nothing scores on the same images (the untranslated source "
        "for FID, KID, realism and class accuracy; the input unchanged against the ground "
        "truth for PSNR, SSIM and L1) or what real target images score (checkerboard, FCN "
        "score). 95% interval: the Wilson interval of an accuracy over its number of test "
        "images (the test set's sampling error; another training seed can land further "
        "away).</p>"
        "<table><tr><th>metric</th><th>value</th><th>baseline</th><th>baseline metric</th>"
        f"<th>95% interval</th></tr>{rows}</table>"
    )


def _write_atomic(path: pathlib.Path, text: str) -> None:
    atomic_write_text(path, text)


def write_report(run_dir: pathlib.Path | str) -> pathlib.Path:
    """Write ``run_dir/report.html`` (atomically) and return its path.

    Contents: a title with the method and task (from the config), the resolved config, loss
    curves from ``log.jsonl`` (one subplot per key prefix before "/", e.g. "g", "d", "lr"), up to
    eight sample grids in step order, the metric table of ``metrics.json`` and the method's own
    figures (``figures/NAME.png``, captioned by ``figures/NAME.txt``). Missing parts are
    omitted; a missing `run_dir` raises FileNotFoundError.
    """
    run_dir = pathlib.Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run directory not found: {run_dir}")
    config_text, config = _read_config(run_dir)
    method = _find_name(config, ("method", "model.name", "model", "name"))
    task = _find_name(config, ("task", "data.task", "data.name", "data", "dataset"))
    title = " on ".join(x for x in (method, task) if x) or run_dir.name
    esc = html.escape

    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(title)} - transynth report</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        f'<p class="meta">Run directory: <code>{esc(str(run_dir.resolve()))}</code></p>',
    ]

    train = config.get("train") if isinstance(config, dict) else None
    note = selection_note(train) if isinstance(train, dict) else None
    if note is not None:
        parts.append(f'<p class="warning"><strong>{esc(note)}</strong></p>')

    sizing = RunFolder(run_dir).read_sizing()
    if sizing is not None and sizing.get("line"):
        # what the program decided for the user (image size, batch, steps, precision, time)
        parts.append(f'<p class="meta">Sizing: {esc(str(sizing["line"]))}</p>')

    metrics = _read_metrics(run_dir)
    if metrics is not None:
        step, values = metrics
        caption = f" (step {esc(str(step))})" if step is not None else ""
        parts.append(f"<h2>Metrics{caption}</h2>")
        parts.append(_metrics_table(values))

    records = _read_log(run_dir)
    groups = _group_series(records)
    if groups:
        parts.append("<h2>Training curves</h2>")
        last = records[-1]
        info = []
        if _is_number(last.get("step")):
            info.append(f"{int(last['step'])} steps")
        if _is_number(last.get("time")):
            info.append(f"{float(last['time']) / 60:.1f} min")
        if info:
            parts.append(f'<p class="meta">Logged: {esc(", ".join(info))}</p>')
        uri = _png_data_uri(_plot_curves(groups))
        parts.append(f'<figure><img src="{uri}" alt="training curves"></figure>')

    grids = _sample_grids(run_dir)
    if grids:
        parts.append("<h2>Samples</h2>")
        for step, path in grids:
            uri = _png_data_uri(path.read_bytes())
            parts.append(
                f'<figure><img src="{uri}" alt="samples at step {step}">'
                f"<figcaption>step {step}</figcaption></figure>"
            )

    folder = RunFolder(run_dir).figures
    figures = sorted(folder.glob("*.png")) if folder.is_dir() else []
    if figures:
        parts.append("<h2>Figures</h2>")
        for path in figures:
            caption_file = path.with_suffix(".txt")
            caption = (
                caption_file.read_text(encoding="utf-8", errors="replace").strip()
                if caption_file.is_file()
                else path.stem
            )
            uri = _png_data_uri(path.read_bytes())
            parts.append(
                f'<figure><img src="{uri}" alt="{esc(path.stem)}">'
                f"<figcaption>{esc(caption)}</figcaption></figure>"
            )

    if config_text is not None:
        parts.append("<h2>Configuration</h2>")
        parts.append(f"<pre>{esc(config_text)}</pre>")

    parts.append("</body></html>\n")
    out = RunFolder(run_dir).report
    _write_atomic(out, "\n".join(parts))
    return out
