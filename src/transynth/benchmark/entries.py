"""Benchmark entries: read from each method's ``configs/<method>/benchmarks.yaml``.

An entry trains one method on one task at one preset with some overrides, and names the
metrics its table shows (``headline``). Entries belong to suites: ``quick`` (pix2pix and the
unpaired translators on their first tasks; about 30 minutes on a 2-core CPU), ``unpaired``,
``adaptation`` (UNIT, DTN, CDRD, E-CDRD), ``disentangle`` (InfoGAN, AC-GAN), ``multidomain``
(StarGAN), ``real`` (the real-image tasks: icon artwork and photo crops at 64 px, each method's
CPU preset sized to the data), ``extra``, and ``full`` (the paper presets, for GPUs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from transynth.config import ConfigError, config_dir, read_yaml
from transynth.eval.uncertainty import seed_of
from transynth.registry import list_models

SUITES = ("quick", "unpaired", "adaptation", "disentangle", "multidomain", "real", "full", "extra")
ENTRIES_FILE = "benchmarks.yaml"


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


def _entry(method: str, data: Any, origin: str) -> BenchmarkEntry:
    known = {f.name for f in fields(BenchmarkEntry)} - {"method"}
    if not isinstance(data, dict) or not {"name", "task"} <= set(data):
        raise ConfigError(f"{origin}: each entry must be a mapping with at least name and task")
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"{origin}: entry {data['name']!r} has unknown key(s) {', '.join(unknown)}; "
            f"accepted: {', '.join(sorted(known))}"
        )
    bad_suites = sorted(set(data.get("suites", ())) - set(SUITES))
    if bad_suites:
        raise ConfigError(
            f"{origin}: entry {data['name']!r} names unknown suite(s) {', '.join(bad_suites)}; "
            f"accepted: {', '.join(SUITES)}"
        )
    tuples = {k: tuple(v) for k, v in data.items() if isinstance(v, list)}
    return BenchmarkEntry(method=method, **{**data, **tuples})


def method_entries(method: str) -> tuple[BenchmarkEntry, ...]:
    """The entries of one method (none when it has no benchmarks.yaml)."""
    path = config_dir(method) / ENTRIES_FILE
    if not path.is_file():
        return ()
    listed = read_yaml(path).get("entries") or []
    if not isinstance(listed, list):
        raise ConfigError(f"{path}: 'entries' must be a list")
    return tuple(_entry(method, item, str(path)) for item in listed)


def load_entries() -> tuple[BenchmarkEntry, ...]:
    """Every registered method's entries; an entry name used twice is an error."""
    entries = tuple(e for method in list_models() for e in method_entries(method))
    seen: dict[str, str] = {}
    for e in entries:
        if e.name in seen:
            raise ConfigError(
                f"benchmark entry {e.name!r} is defined by {seen[e.name]} and {e.method}"
            )
        seen[e.name] = e.method
    return entries


def select_from(entries: Sequence[BenchmarkEntry], names: Sequence[str]) -> list[BenchmarkEntry]:
    """Entries by suite name or entry name; an unknown name is an error listing both."""
    by_name = {e.name: e for e in entries}
    chosen: list[BenchmarkEntry] = []
    for name in names or ["quick"]:
        if name in SUITES:
            chosen += [e for e in entries if name in e.suites]
        elif name in by_name:
            chosen.append(by_name[name])
        else:
            raise ValueError(
                f"unknown benchmark {name!r}; suites: {', '.join(SUITES)}; "
                f"entries: {', '.join(by_name)}"
            )
    return list(dict.fromkeys(chosen))  # keep order, drop repeats


def _seeded_name(base: str, seed: int) -> str:
    """The entry name of a repeat on another seed: `base` for seed 0, else `base-seedN`."""
    return base if seed == 0 else f"{base}-seed{seed}"


def with_seed(entry: BenchmarkEntry, seed: int) -> BenchmarkEntry:
    """The same entry trained from another seed, named ``base`` (seed 0) or ``base-seedN``;
    an entry that already names a seed is re-seeded, not seeded twice."""
    if seed < 0:
        raise ValueError(f"a seed must be >= 0, got {seed}")
    base, _ = seed_of(entry.name)
    kept = tuple(o for o in entry.overrides if not o.startswith("train.seed="))
    seeded = () if seed == 0 else (f"train.seed={seed}",)
    return replace(entry, name=_seeded_name(base, seed), overrides=kept + seeded)
