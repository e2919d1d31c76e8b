"""The Markdown and HTML tables of a benchmark results file."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from transynth.eval.uncertainty import accuracy_interval, summarize_seeds
from transynth.fileio import atomic_write_text


def read_results(path: Path) -> dict[str, dict[str, Any]]:
    """The entries of a results file (entry name -> result)."""
    try:
        table = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ValueError(f"cannot read benchmark results {path}: {err}") from err
    if not isinstance(table, dict):
        raise ValueError(f"benchmark results {path} must hold a JSON object of entries")
    return table


def write_tables(results_path: str | Path, table: dict[str, dict[str, Any]] | None = None) -> None:
    """Write the Markdown and HTML tables of a results file next to it (`table`: its content,
    read from the file when None)."""
    results_path = Path(results_path)
    if table is None:
        if not results_path.exists():
            raise FileNotFoundError(f"no benchmark results at {results_path}")
        table = read_results(results_path)
    atomic_write_text(results_path.with_suffix(".md"), render_markdown(table))
    atomic_write_text(results_path.with_suffix(".html"), render_html(table))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _fmt_metric(name: str, metrics: dict[str, float]) -> str:
    """`name value`, with the 95% Wilson interval of an accuracy whose count is recorded."""
    text = f"{name} {_fmt(metrics[name])}"
    interval = accuracy_interval(name, metrics)
    if interval is not None:
        text += f" [{interval[0]:.3f}, {interval[1]:.3f}]"
    return text


def _rows(table: dict[str, dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    header = ["entry", "method", "task", "steps x batch", "size", "train time", "metrics", "paper"]
    rows = []
    for name, r in table.items():
        shown = [k for k in r.get("headline", []) if k in r["metrics"]]
        metrics = "; ".join(_fmt_metric(k, r["metrics"]) for k in shown)
        rows.append(
            [
                name,
                r["method"],
                r["task"],
                f"{r['steps']} x {r['batch_size']}",
                f"{r['image_size']} px",
                f"{r['train_time_s'] / 60:.1f} min",
                metrics,
                r.get("paper", "") or "-",
            ]
        )
    return header, rows


def _seed_rows(table: dict[str, dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    header = ["entry", "method", "task", "seeds", "metric", "mean +- std", "min - max"]
    rows = []
    for base, s in summarize_seeds(table).items():
        seeds = ", ".join(map(str, s["seeds"]))
        if s.get("mixed"):  # not pooled: the runs are different experiments
            note = "not pooled: the runs differ in method, task, preset, steps or batch"
            rows.append([base, s["method"], s["task"], seeds, note, "-", "-"])
            continue
        for metric, st in s["metrics"].items():
            rows.append(
                [
                    base,
                    s["method"],
                    s["task"],
                    seeds,
                    metric,
                    f"{st['mean']:.4g} +- {st['std']:.2g}",
                    f"{st['min']:.4g} - {st['max']:.4g}",
                ]
            )
    return header, rows


_INTERVAL_NOTE = (
    "Brackets: the 95% Wilson interval of an accuracy over its test images (sampling error of "
    "the test set, not the spread between training seeds)."
)
_SEEDS_NOTE = (
    "Entries run on several seeds (`--seeds`): mean, sample standard deviation and range of "
    "each headline metric."
)


def _markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def render_markdown(table: dict[str, dict[str, Any]]) -> str:
    lines = _markdown_table(*_rows(table)) + ["", _INTERVAL_NOTE]
    header, rows = _seed_rows(table)
    if rows:
        lines += ["", "## Across seeds", "", _SEEDS_NOTE, "", *_markdown_table(header, rows)]
    return "\n".join(lines) + "\n"


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def render_html(table: dict[str, dict[str, Any]]) -> str:
    parts = [_html_table(*_rows(table)), f"<p>{html.escape(_INTERVAL_NOTE)}</p>"]
    header, rows = _seed_rows(table)
    if rows:
        parts += ["<h2>Across seeds</h2>", f"<p>{html.escape(_SEEDS_NOTE)}</p>"]
        parts.append(_html_table(header, rows))
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>transynth benchmark</title>"
        "<style>body{font-family:sans-serif}td,th{padding:4px 10px;border-bottom:1px solid #ddd}"
        "</style></head><body><h1>transynth benchmark</h1>" + "".join(parts) + "</body></html>\n"
    )
