"""`transynth benchmark`: train methods on their benchmark tasks for a fixed budget, evaluate
them the same way, and write one table (JSON, Markdown, HTML).

Suites: ``quick`` (pix2pix and the unpaired translators on their first tasks) runs the CPU
presets and fits in about 30 minutes on a 2-core CPU; ``unpaired``, ``adaptation`` (UNIT, DTN,
CDRD, E-CDRD), ``disentangle`` (InfoGAN, AC-GAN) and ``multidomain`` (StarGAN) are the CPU-preset
comparisons of docs/BENCHMARKS.md; ``full`` runs the paper presets (for GPUs). Each method's
issue adds its entries here.
"""

from __future__ import annotations

import html
import json
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from transynth.eval.uncertainty import accuracy_interval, seed_of, summarize_seeds
from transynth.fileio import atomic_write_text


@dataclass(frozen=True)
class BenchmarkEntry:
    """One training run of the benchmark."""

    name: str
    method: str
    task: str
    overrides: tuple[str, ...] = ()
    preset: str = "cpu"
    suites: tuple[str, ...] = ("quick",)
    headline: tuple[str, ...] = ()  # metric names shown in the summary table
    paper: str = ""  # the paper's figure, where the protocol matches
    note: str = ""


_UNPAIRED_HEADLINE = (
    "AtoB/translation_accuracy",
    "BtoA/translation_accuracy",
    "AtoB/fid",
    "BtoA/fid",
)
_PAIRED_HEADLINE = ("l1", "psnr", "ssim", "fcn_accuracy")
_INFOGAN_HEADLINE = ("c1/code_accuracy", "fid", "kid")
_ACGAN_HEADLINE = ("conditional_accuracy", "fid", "kid")
_SAME_BUDGET = ("train.steps=1000", "train.batch_size=8")


def _seeded_name(base: str, seed: int) -> str:
    """The entry name of a repeat on another seed: `base` for seed 0, else `base-seedN`."""
    return base if seed == 0 else f"{base}-seed{seed}"


def _seed_override(seed: int) -> tuple[str, ...]:
    return () if seed == 0 else (f"train.seed={seed}",)


def with_seed(entry: BenchmarkEntry, seed: int) -> BenchmarkEntry:
    """The same entry trained from another seed, named ``base`` (seed 0) or ``base-seedN``;
    an entry that already names a seed is re-seeded, not seeded twice."""
    if seed < 0:
        raise ValueError(f"a seed must be >= 0, got {seed}")
    base, _ = seed_of(entry.name)
    kept = tuple(o for o in entry.overrides if not o.startswith("train.seed="))
    return replace(entry, name=_seeded_name(base, seed), overrides=kept + _seed_override(seed))


ENTRIES: tuple[BenchmarkEntry, ...] = (
    BenchmarkEntry(
        "pix2pix-edges2mnist",
        "pix2pix",
        "edges2mnist",
        headline=_PAIRED_HEADLINE,
        note="cGAN + L1 (lambda 100), the paper's objective",
    ),
    BenchmarkEntry(
        "pix2pix-edges2mnist-l1only",
        "pix2pix",
        "edges2mnist",
        ("model.lambda_gan=0",),
        headline=_PAIRED_HEADLINE,
        note="the paper's L1-only ablation",
    ),
    BenchmarkEntry(
        "pix2pix-sans2serif",
        "pix2pix",
        "sans2serif",
        suites=("extra",),
        headline=_PAIRED_HEADLINE[:3],
    ),
    BenchmarkEntry(
        "pix2pix-sans2serif-l1only",
        "pix2pix",
        "sans2serif",
        ("model.lambda_gan=0",),
        suites=("extra",),
        headline=_PAIRED_HEADLINE[:3],
    ),
    # The unpaired bidirectional family side by side at one budget (issue 4): each CPU preset
    # with the same steps and batch; the mnist2uci runs are also part of the quick suite.
    *(
        BenchmarkEntry(
            f"{method}-{task}",
            method,
            task,
            _SAME_BUDGET,
            suites=("quick", "unpaired") if task == "mnist2uci" else ("unpaired",),
            headline=_UNPAIRED_HEADLINE,
        )
        for task in ("mnist2uci", "mnist2mnistm")
        for method in ("cyclegan", "dualgan", "discogan")
    ),
    # UNIT and DTN (issue 5). UNIT's domain adaptation on digits in both directions at one budget
    # and split, with the source-only baseline trained in the same run; headline: held-out
    # target TEST accuracy (the transductive target-train figure is in the metrics too).
    *(
        BenchmarkEntry(
            f"unit-{task}",
            "unit",
            task,
            suites=("adaptation",),
            headline=(
                "target_test_accuracy",
                "source_only/target_test_accuracy",
                "AtoB/translation_accuracy",
                "BtoA/translation_accuracy",
                "AtoB/fid",
            ),
            paper=paper,
            note="D's class head (shared trunk) on held-out target test digits vs a "
            "source-only classifier of the same architecture trained in the same run; both read "
            "geometrically jittered sources (the CPU preset's model.source_augment)",
        )
        for task, paper in (
            ("mnist2uci", "MNIST->USPS 95.97 (USPS, not UCI)"),
            ("uci2mnist", "USPS->MNIST 93.58 (USPS, not UCI)"),
        )
    ),
    # DTN (issue 5): the held-out figure swings by several points between seeds, hence three.
    *(
        BenchmarkEntry(
            _seeded_name("dtn-printed2mnist", seed),
            "dtn",
            "printed2mnist",
            _seed_override(seed),
            suites=("adaptation",),
            headline=(
                "AtoB/translation_accuracy",
                "raw/AtoB/translation_accuracy",
                "AtoB/fid",
                "f/target_test_accuracy",
            ),
            paper="SVHN->MNIST 90.66 (unverified; SVHN, not printed digits)",
            note="alpha = beta = 15, gamma = 0; f pre-trained in the run (augmented), then "
            "frozen; g and D averaged (train.ema), raw/ = live weights",
        )
        for seed in (0, 1, 2)
    ),
    # InfoGAN and AC-GAN (issue 6): generators from noise on one classes task; InfoGAN's
    # categorical code may align with the digits on some seeds only, hence three seeds.
    *(
        BenchmarkEntry(
            _seeded_name("infogan-mnist", seed),
            "infogan",
            "mnist",
            _seed_override(seed),
            suites=("disentangle",),
            headline=_INFOGAN_HEADLINE,
            paper="about 95% code accuracy (5% error) on full MNIST (60k digits, 28 px)",
            note="categorical code c1 as a classifier after Hungarian matching; 4,000 digits",
        )
        for seed in (0, 1, 2)
    ),
    BenchmarkEntry(
        "acgan-mnist",
        "acgan",
        "mnist",
        suites=("disentangle",),
        headline=_ACGAN_HEADLINE,
        note="generated-class accuracy by the mnist evaluator; the paper reports CIFAR/ImageNet",
    ),
    *(
        BenchmarkEntry(
            f"{method}-fashion-mnist",
            method,
            "fashion-mnist",
            suites=("extra",),
            headline=headline,
            note="needs the dataset-fashion-mnist package",
        )
        for method, headline in (("infogan", _INFOGAN_HEADLINE), ("acgan", _ACGAN_HEADLINE))
    ),
    *(
        BenchmarkEntry(
            f"{method}-paper",
            method,
            "mnist",
            preset="paper",
            suites=("full",),
            headline=headline,
        )
        for method, headline in (("infogan", _INFOGAN_HEADLINE), ("acgan", _ACGAN_HEADLINE))
    ),
    # StarGAN (issue 7): one generator for the 4 digit styles, and the attribute task whose
    # ground truth is rendered; the comparison with the 6 CycleGANs it replaces is
    # benchmarks/stargan_vs_cyclegan.py.
    BenchmarkEntry(
        "stargan-digit-styles",
        "stargan",
        "digit-styles",
        suites=("multidomain",),
        headline=("domain_accuracy", "class_accuracy", "class_accuracy_baseline"),
        note="targets: domain accuracy and class preservation >= 0.90 each",
    ),
    BenchmarkEntry(
        "stargan-digit-attributes",
        "stargan",
        "digit-attributes",
        suites=("multidomain",),
        headline=("attribute_accuracy", "edited_attribute_accuracy", "l1", "psnr", "psnr_baseline"),
    ),
    BenchmarkEntry(
        "stargan-paper",
        "stargan",
        "digit-styles",
        preset="paper",
        suites=("full",),
        headline=("domain_accuracy", "class_accuracy"),
    ),
    *(
        BenchmarkEntry(
            f"{method}-paper",
            method,
            task,
            preset="paper",
            suites=("full",),
            headline=(headline,),
        )
        for method, task, headline in (
            ("unit", "mnist2uci", "target_test_accuracy"),
            ("dtn", "printed2mnist", "AtoB/translation_accuracy"),
            ("cdrd", "mnist2uci", "target_test_accuracy"),
            ("ecdrd", "mnist2uci", "target_test_accuracy"),
        )
    ),
    # CDRD and E-CDRD (issue 8): cross-domain classification by D's attribute head on held-out
    # target TEST digits, the source-only baseline trained in the same run, and the evaluator's
    # agreement with the requested attribute in the jointly generated pairs; one budget for both.
    *(
        BenchmarkEntry(
            f"{method}-{task}",
            method,
            task,
            ("train.steps=800", "train.batch_size=32"),
            suites=("adaptation",),
            headline=(
                "target_test_accuracy",
                "source_only/target_test_accuracy",
                "target_train_accuracy_transductive",
                f"joint/{src}/conditional_accuracy",
                f"joint/{tgt}/conditional_accuracy",
            ),
            paper=paper,
            note="attribute head of D_C on real target images vs a source-only classifier of "
            "the same D_S + D_C architecture trained in the same run",
        )
        for method in ("cdrd", "ecdrd")
        for task, src, tgt, paper in (
            ("mnist2uci", "mnist", "uci-digits", "MNIST->USPS 95.05 (USPS, not UCI)"),
            ("uci2mnist", "uci-digits", "mnist", "USPS->MNIST 94.35 (USPS, not UCI)"),
            ("mnist2mnistm", "mnist", "mnist-m", ""),
        )
    ),
    BenchmarkEntry(
        "pix2pix-paper",
        "pix2pix",
        "edges2mnist",
        ("data.image_size=256",),
        preset="paper",
        suites=("full",),
        headline=_PAIRED_HEADLINE,
    ),
    BenchmarkEntry(
        "cyclegan-paper",
        "cyclegan",
        "mnist2uci",
        ("data.image_size=256",),
        preset="paper",
        suites=("full",),
        headline=_UNPAIRED_HEADLINE,
    ),
)
SUITES = ("quick", "unpaired", "adaptation", "disentangle", "multidomain", "full", "extra")


def select(names: Sequence[str]) -> list[BenchmarkEntry]:
    """Entries by suite name or entry name; an unknown name is an error listing both."""
    by_name = {e.name: e for e in ENTRIES}
    chosen: list[BenchmarkEntry] = []
    for name in names or ["quick"]:
        if name in SUITES:
            chosen += [e for e in ENTRIES if name in e.suites]
        elif name in by_name:
            chosen.append(by_name[name])
        else:
            raise ValueError(
                f"unknown benchmark {name!r}; suites: {', '.join(SUITES)}; "
                f"entries: {', '.join(by_name)}"
            )
    return list(dict.fromkeys(chosen))  # keep order, drop repeats


@dataclass
class BenchmarkResult:
    entry: BenchmarkEntry
    steps: int
    batch_size: int
    image_size: int
    amp: str
    train_time_s: float
    wall_time_s: float
    metrics: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        e = self.entry
        return {
            "method": e.method,
            "task": e.task,
            "preset": e.preset,
            "overrides": list(e.overrides),
            "steps": self.steps,
            "batch_size": self.batch_size,
            "image_size": self.image_size,
            "amp": self.amp,
            "train_time_s": self.train_time_s,
            "wall_time_s": self.wall_time_s,
            "metrics": self.metrics,
            "headline": list(e.headline),
            "paper": e.paper,
            "note": e.note,
            "machine": _machine(),
        }


def _machine() -> str:
    import torch

    cores, threads = os.cpu_count(), torch.get_num_threads()
    capability = torch.backends.cpu.get_cpu_capability()  # e.g. AVX2, AVX512: which precision pays
    return (
        f"{platform.machine()} ({capability}), {cores} cores ({threads} threads), "
        f"torch {torch.__version__}"
    )


def run_entry(entry: BenchmarkEntry, out: Path, steps: int | None = None) -> BenchmarkResult:
    """Train and evaluate one entry into out/<name> (resumed if interrupted)."""
    import transynth

    run_dir = out / entry.name
    start = time.time()
    transynth.train(
        entry.method,
        entry.task,
        preset=entry.preset,
        steps=steps,
        out=run_dir,
        overrides=[*entry.overrides, "train.progress=false", "train.evaluate=true"],
    )
    wall = time.time() - start
    cfg = transynth.load(run_dir).run_config
    last_log = json.loads((run_dir / "log.jsonl").read_text().splitlines()[-1])
    written = json.loads((run_dir / "metrics.json").read_text())
    metrics = written["metrics"]
    return BenchmarkResult(
        entry,
        cfg.train.steps,
        cfg.train.batch_size,
        cfg.data.image_size,
        written.get("amp", cfg.train.amp),  # the mode used: train.amp=auto resolved
        round(float(last_log["time"]), 1),
        round(wall, 1),
        metrics,
    )


def run_benchmark(
    names: Sequence[str],
    out: str | Path = "bench_runs",
    results: str | Path | None = None,
    steps: int | None = None,
    seeds: Sequence[int] | None = None,
) -> dict[str, dict[str, Any]]:
    """Run the selected entries (each on every seed of `seeds`, when given); merge their
    results into `results` (JSON) and write the Markdown and HTML tables next to it. Returns
    all results in the file."""
    out = Path(out)
    results_path = results_file(out, results)
    table = _read_results(results_path) if results_path.exists() else {}
    entries = select(names)
    if seeds:
        entries = list(dict.fromkeys(with_seed(e, s) for e in entries for s in seeds))
    for entry in entries:
        result = run_entry(entry, out, steps)
        table[entry.name] = result.to_dict()
        atomic_write_text(results_path, json.dumps(table, indent=2) + "\n")
        print(
            f"{entry.name}: {result.train_time_s:.0f} s training, "
            + ", ".join(
                f"{k} {result.metrics[k]:.4g}" for k in entry.headline if k in result.metrics
            ),
            flush=True,
        )
    write_tables(results_path, table)
    return table


def results_file(out: str | Path, results: str | Path | None = None) -> Path:
    """Where a benchmark keeps its results: `results`, or OUT/benchmark.json."""
    return Path(results) if results else Path(out) / "benchmark.json"


def _read_results(path: Path) -> dict[str, dict[str, Any]]:
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
        table = _read_results(results_path)
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
