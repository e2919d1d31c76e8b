"""Training throughput against the plain fp32 eager path, in FLOP/s and % of the machine's peak.

Issue 25 asks whether a preset's DEFAULT training step (what a user gets with no flags) beats the
plain fp32 eager step, which runs at the reference implementations' speed. Both are timed in ONE
process in alternating rounds (a, b, a, b, ...), so that a shared machine's load drifts over both
alike; the FLOPs of one full step (every phase, forward and backward) are counted with
torch.utils.flop_counter, and the peak is measured in the same run with a large bf16 and fp32
matmul. `benchmarks/throughput.py` is the command line; `benchmarks/speed.py` times the opt-in
speed paths with the same warm-up (:class:`StepRunner`).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.flop_counter import FlopCounterMode

from transynth.config import RunConfig, resolve_config
from transynth.training import Trainer
from transynth.training.sizing import FOLLOW_RULES, sized_model_keys

#: The plain fp32 eager path (the reference code's speed): train overrides on top of the preset.
FP32_EAGER = {"amp": "none", "compile": False, "channels_last": False}

#: Parameter counts of the reference architectures, in millions, with their printed decimals:
#: CycleGAN's ResNet-9 generator (each of G_AB, G_BA) and its 2 G + 2 70x70 D, pix2pix's
#: U-Net-256 G + 70x70 D (both on RGB images, as the reference code trains them).
REFERENCE_PARAMETERS: dict[str, dict[str, float]] = {
    "cyclegan": {"G_AB": 11.378, "G_BA": 11.378, "total": 28.29},
    "pix2pix": {"total": 57.18},
}


@dataclass(frozen=True)
class BenchConfig:
    """One configuration to time: a method's preset at a size and batch."""

    name: str
    method: str
    preset: str
    size: int | None = None  # None: the preset's own image size
    batch: int | None = None  # None: the preset's own batch
    #: Synthetic folder written for presets that expect the user's folder (None: preset's task).
    layout: str | None = None
    #: Model keys that follow the side when a smoke test runs it smaller (sizing.FOLLOW_RULES).
    follow: Mapping[str, str] = field(default_factory=dict)
    #: Expected parameter counts (REFERENCE_PARAMETERS), checked only at the reference size.
    reference: Mapping[str, float] = field(default_factory=dict)


_CYCLEGAN = {"follow": {"d_layers": "patchgan"}, "reference": REFERENCE_PARAMETERS["cyclegan"]}
_PIX2PIX = {
    "follow": {"num_downs": "unet", "d_layers": "patchgan"},
    "reference": REFERENCE_PARAMETERS["pix2pix"],
}

CONFIGS: tuple[BenchConfig, ...] = (
    BenchConfig("cyclegan-paper-128", "cyclegan", "paper", 128, 1, "unaligned", **_CYCLEGAN),
    BenchConfig("cyclegan-paper-256", "cyclegan", "paper", 256, 1, "unaligned", **_CYCLEGAN),
    BenchConfig("pix2pix-paper-256", "pix2pix", "paper", 256, 1, "aligned", **_PIX2PIX),
    BenchConfig("stargan-paper-128", "stargan", "paper", 128, 1, "domains", {"d_layers": "to_2x2"}),
    BenchConfig("cyclegan-cpu", "cyclegan", "cpu"),
    BenchConfig("pix2pix-cpu", "pix2pix", "cpu"),
    BenchConfig("stargan-cpu", "stargan", "cpu"),
)


def config_named(name: str) -> BenchConfig:
    """The entry of CONFIGS called `name` (ValueError naming the accepted ones otherwise)."""
    for bc in CONFIGS:
        if bc.name == name:
            return bc
    raise ValueError(
        f"unknown configuration {name!r}; accepted: {', '.join(c.name for c in CONFIGS)}"
    )


# ---- data and configs ----------------------------------------------------------------------
def synthetic_folder(root: str | Path, layout: str, size: int, n: int = 8) -> Path:
    """A small folder of smooth random RGB PNGs at `size` px in `layout` (unaligned: trainA/,
    trainB/; aligned: train/ with A|B pairs; domains: 5 domain folders, the reference StarGAN's
    5 CelebA attributes), so that paper presets, which expect the user's folder, load, decode
    and resize real files as they would in training."""
    root = Path(root)
    dirs = {
        "unaligned": ["trainA", "trainB"],
        "aligned": ["train"],
        "domains": [f"domain{k}" for k in range(5)],
    }
    if layout not in dirs:
        raise ValueError(f"no synthetic folder for layout {layout!r}; accepted: {', '.join(dirs)}")
    rng = np.random.default_rng(0)
    width = 2 * size if layout == "aligned" else size
    for d in dirs[layout]:
        (root / d).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            small = rng.integers(0, 256, (8, max(1, width * 8 // size), 3), dtype=np.uint8)
            img = Image.fromarray(small).resize((width, size), Image.BICUBIC)
            img.save(root / d / f"{i:03d}.png")
    return root


def run_config(
    bc: BenchConfig, train: Mapping[str, Any], size: int | None = None, data: str | None = None
) -> RunConfig:
    """`bc`'s resolved config with `train` overrides ({} = the preset's default path), at
    `size` (None: bc's own), on `data` (a folder or task; None: the preset's task)."""
    overrides: dict[str, dict[str, Any]] = {"train": {"progress": False, "tensorboard": False}}
    overrides["train"].update(train)
    if bc.batch is not None:
        overrides["train"]["batch_size"] = bc.batch
    side = size or bc.size
    if side is not None:
        overrides["data"] = {"image_size": side}
    if data is not None:
        overrides.setdefault("data", {})["task"] = data
        if bc.layout is not None:  # the synthetic folder's layout (domains reads as classes)
            overrides["data"]["layout"] = bc.layout
    base = resolve_config(bc.method, preset=bc.preset)
    if side is not None and side != (bc.size or base.data.image_size):
        # a smoke test at another side: the keys that must follow it (as sizing would)
        sized = sized_model_keys(bc.method, base, side, bc.preset)
        model = (
            sized if sized is not None else {k: FOLLOW_RULES[r](side) for k, r in bc.follow.items()}
        )
        if model:
            overrides["model"] = model
    return resolve_config(bc.method, preset=bc.preset, overrides=overrides)


# ---- timing --------------------------------------------------------------------------------
class StepRunner:
    """Full training steps of a trainer (fetch the next batch, then every phase of the step),
    with the warm-up of benchmarks/speed.py."""

    def __init__(self, trainer: Trainer) -> None:
        self.trainer = trainer
        self.batches = iter(trainer._loader())
        self.step_index = 0
        self.seen: set[str] = set()
        self.warmup_seconds = 0.0
        cuda = trainer.device.type == "cuda"
        self.sync: Callable[[], None] = torch.cuda.synchronize if cuda else (lambda: None)

    def step(self) -> float:
        """One full training step; returns the seconds spent fetching its batch."""
        start = time.perf_counter()
        batch = self.trainer._to_device(next(self.batches))
        fetched = time.perf_counter() - start
        for phase in self.trainer.model.phases(self.step_index):
            self.trainer._run_phase(phase, batch)
            self.seen.add(phase)
        self.step_index += 1
        return fetched

    def warm_up(self) -> float:
        """Run until every phase has run at least once, then 3 more steps; returns its seconds.

        n_critic methods run G every few steps; compiled graphs are built on first use, and
        rebuilt once with dynamic shapes. Phases that start late (DTN trains f alone for its
        first 2,000 steps) are not waited for."""
        start = time.perf_counter()
        while self.seen != set(self.trainer.specs) and self.step_index < 20:
            self.step()
        for _ in range(3):
            self.step()
        self.sync()
        self.warmup_seconds = time.perf_counter() - start
        return self.warmup_seconds

    def time(self, steps: int) -> tuple[float, float]:
        """Seconds per step over `steps` timed steps, and the seconds per step of fetching."""
        self.sync()  # GPU kernels run asynchronously: time what they do, not their launches
        fetched, start = 0.0, time.perf_counter()
        for _ in range(steps):
            fetched += self.step()
        self.sync()
        return (time.perf_counter() - start) / steps, fetched / steps


@dataclass
class Alternation:
    """Per-round seconds/step and fetch seconds/step of each path, and the order they ran in."""

    seconds: dict[str, list[float]]
    fetch: dict[str, list[float]]
    order: list[str]

    def median(self, path: str) -> float:
        return statistics.median(self.seconds[path])

    def median_fetch(self, path: str) -> float:
        return statistics.median(self.fetch[path])


def alternate(runners: Mapping[str, StepRunner], steps: int, rounds: int) -> Alternation:
    """Time `rounds` rounds of `steps` steps of each (warmed-up) runner, interleaved: round 1 of
    every path in the given order, then round 2 of every path, ..."""
    if steps < 1 or rounds < 1:
        raise ValueError(f"steps and rounds must be >= 1, got steps={steps}, rounds={rounds}")
    result = Alternation({p: [] for p in runners}, {p: [] for p in runners}, [])
    for _ in range(rounds):
        for path, runner in runners.items():
            seconds, fetch = runner.time(steps)
            result.seconds[path].append(seconds)
            result.fetch[path].append(fetch)
            result.order.append(path)
    return result


# ---- FLOPs, peak, parameters, machine ----------------------------------------------------
class _GlobalOnly:
    """Stands in for FlopCounterMode's per-module tracker: the tracker's backward hooks make
    torch.autograd.grad fail (StarGAN's gradient penalty: "A leaf node was passed to
    _will_engine_execute_node"), and only the global total is wanted here."""

    parents = frozenset({"Global"})

    def __enter__(self) -> _GlobalOnly:
        return self

    def __exit__(self, *args: object) -> None:
        return None


def count_flops(fn: Callable[[], object]) -> int:
    """FLOPs of one call of `fn` (matmuls and convolutions, forward and backward, including
    double backward), counted by torch.utils.flop_counter (a multiply-add counts 2)."""
    counter = FlopCounterMode(display=False)
    counter.mod_tracker = _GlobalOnly()  # type: ignore[assignment]
    with counter:
        fn()
    return int(counter.get_total_flops())


def matmul_peak(
    dtype: torch.dtype, n: int = 2048, reps: int = 3, device: str | torch.device = "cpu"
) -> float:
    """FLOP/s of the best of `reps` n x n x n matmuls in `dtype` on `device` (after one warm-up),
    on the threads this process uses: the peak that % of peak is measured against."""
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    sync = torch.cuda.synchronize if torch.device(device).type == "cuda" else (lambda: None)
    a @ b
    sync()
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        a @ b
        sync()
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best


def parameter_counts(trainer: Trainer) -> dict[str, int]:
    """Trainable parameters of each network of the trainer's method, and their ``total``."""
    counts = {
        name: sum(p.numel() for p in net.parameters())
        for name, net in trainer.model.networks().items()
    }
    counts["total"] = sum(counts.values())
    return counts


def check_parameters(counts: Mapping[str, int], reference: Mapping[str, float]) -> list[str]:
    """One warning per network (or ``total``) whose count differs from `reference` (millions,
    compared at the decimals the reference is written with); [] when all match."""
    warnings = []
    for name, expected in reference.items():
        decimals = len(repr(float(expected)).split(".")[1])
        got = counts.get(name)
        if got is None:
            warnings.append(f"no network {name!r} to check against {expected} M")
        elif round(got / 1e6, decimals) != round(expected, decimals):
            warnings.append(f"{name}: {got / 1e6:.{decimals + 2}f} M, reference {expected} M")
    return warnings


def cpu_features() -> dict[str, Any]:
    """The CPU's kind (AMX, AVX512-BF16, AVX512 or AVX2...), torch's capability and flags."""
    flags: set[str] = set()
    name = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
                elif line.startswith("model name") and not name:
                    name = line.split(":", 1)[1].strip()
    except OSError:
        pass
    capability = torch.backends.cpu.get_cpu_capability()
    if "amx_bf16" in flags:
        kind = "AMX"
    elif "avx512_bf16" in flags:
        kind = "AVX512-BF16"
    else:
        kind = capability  # AVX512, AVX2, DEFAULT (what torch's kernels use)
    return {
        "model": name,
        "kind": kind,
        "torch_capability": capability,
        "amx_bf16": "amx_bf16" in flags,
        "avx512_bf16": "avx512_bf16" in flags,
    }


def new_scratch_dir() -> tempfile.TemporaryDirectory:
    """A temporary folder for synthetic data and the trainers' (unwritten) run folders."""
    return tempfile.TemporaryDirectory(prefix="transynth-throughput-")


# ---- one configuration ---------------------------------------------------------------------
def measure(
    bc: BenchConfig,
    *,
    steps: int,
    rounds: int,
    peaks: Mapping[str, float],
    scratch: str | Path,
    size: int | None = None,
) -> dict[str, Any]:
    """Time `bc`'s plain fp32 eager path and its default path in alternating rounds; their
    FLOPs, FLOP/s, % of `peaks` (FLOP/s by precision: ``fp32``, ``bf16``), data time and
    parameter counts, as one JSON-ready row."""
    side = size or bc.size
    data = None
    if bc.layout is not None:
        data = str(synthetic_folder(Path(scratch) / f"{bc.name}-{side}", bc.layout, side or 32))
    paths = {"fp32": FP32_EAGER, "default": {}}
    trainers = {
        p: Trainer(run_config(bc, train, size, data), Path(scratch) / f"run-{bc.name}-{p}")
        for p, train in paths.items()
    }
    runners = {p: StepRunner(t) for p, t in trainers.items()}
    warmup = {p: r.warm_up() for p, r in runners.items()}
    # n_critic methods (StarGAN: G every 5th step) time and count whole cycles of phases
    period = max(1, int(getattr(trainers["fp32"].config.model, "n_critic", 1)))
    steps = -(-steps // period) * period

    def cycle() -> None:
        for _ in range(period):
            runners["fp32"].step()

    flops = count_flops(cycle) // period  # the same math on both paths
    timed = alternate(runners, steps, rounds)
    counts = parameter_counts(trainers["fp32"])
    at_reference = side == bc.size or bc.size is None
    warnings = check_parameters(counts, bc.reference) if at_reference else []
    default_tc = trainers["default"].config.train
    row: dict[str, Any] = {
        "name": bc.name,
        "method": bc.method,
        "preset": bc.preset,
        "image_size": trainers["default"].config.data.image_size,
        "batch_size": default_tc.batch_size,
        "data": trainers["default"].task.name,
        "default_path": {
            "amp": trainers["default"].amp,
            "compile": default_tc.compile,
            "channels_last": default_tc.channels_last,
        },
        "flops_per_step": flops,
        "parameters": counts,
        "parameters_counted": " + ".join(n for n in counts if n != "total"),
        "parameter_warnings": warnings,
        "parameter_check": (
            ("differs" if warnings else "matches") if bc.reference and at_reference else "none"
        ),
        "order": timed.order,
        "steps_per_round": steps,
    }
    for p, trainer in trainers.items():
        seconds = timed.median(p)
        precision = "bf16" if trainer.amp == "bf16" else "fp32" if trainer.amp == "none" else "fp16"
        peak = peaks.get(precision)
        row[p] = {
            "precision": precision,
            "seconds_per_step": seconds,
            "rounds": timed.seconds[p],
            "data_seconds_per_step": timed.median_fetch(p),
            "warmup_seconds": warmup[p],
            "flops_per_second": flops / seconds,
            "fraction_of_peak": flops / seconds / peak if peak else None,
        }
    row["ratio"] = row["default"]["seconds_per_step"] / row["fp32"]["seconds_per_step"]
    row["speedup"] = 1 / row["ratio"]
    return row
