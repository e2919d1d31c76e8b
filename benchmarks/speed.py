"""Training-step speed of each speed path relative to plain fp32, measured in one process.

Usage:
    python benchmarks/speed.py [METHOD ...] [--steps 10] [--preset cpu] [--variants compile ...]

For each method, times `--steps` training steps of its preset (after a warm-up that runs every
phase at least once, then 3 more steps) with plain fp32, bf16 autocast, channels_last (batch > 1
only) and torch.compile (whose compilation falls in the warm-up and is not timed), and prints
the ratio to fp32. On a GPU (the trainer's device is ``auto``) ``--variants fp16`` adds fp16
autocast with its gradient scaler, and the clock waits for the GPU's queued kernels.
Ratios, not absolute times, are what transfer between runs on a shared machine.
"""

from __future__ import annotations

import argparse

import torch

import transynth
from transynth.benchmark.throughput import StepRunner
from transynth.config import resolve_config
from transynth.training import Trainer
from transynth.training.precision import native_bf16

VARIANTS = {
    "fp32": {},
    "bf16": {"amp": "bf16"},
    "channels_last": {"channels_last": True},
    "bf16+channels_last": {"amp": "bf16", "channels_last": True},
    "compile": {"compile": True},
    "fp16": {"amp": "fp16"},  # CUDA only (fp16 autocast with a gradient scaler)
}


def seconds_per_step(method: str, preset: str, steps: int, train: dict) -> float:
    overrides = {"train": {"progress": False, "tensorboard": False, "amp": "none", **train}}
    trainer = Trainer(resolve_config(method, preset=preset, overrides=overrides), "/tmp/unused")
    runner = StepRunner(trainer)  # the warm-up that benchmarks/throughput.py uses too
    runner.warm_up()
    return runner.time(steps)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("methods", nargs="*", default=transynth.list_models())
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--preset", default="cpu")
    parser.add_argument(
        "--variants",
        nargs="+",
        default=[v for v in VARIANTS if v not in ("fp32", "fp16")],
        choices=list(VARIANTS)[1:],
    )
    args = parser.parse_args()
    native = native_bf16(torch.device("cpu"))
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU capability "
        f"{torch.backends.cpu.get_cpu_capability()}, native CPU bf16: {native}, GPU: {gpu}"
    )
    if "fp16" in args.variants and not torch.cuda.is_available():
        parser.error("the fp16 variant needs a CUDA device")
    others = args.variants
    print("| method | fp32 s/step | " + " | ".join(f"{v} speed-up" for v in others) + " |")
    print("| --- |" + " --- |" * (len(others) + 1))
    for method in args.methods:
        times = {
            v: seconds_per_step(method, args.preset, args.steps, VARIANTS[v])
            for v in ["fp32", *others]
        }
        ratios = " | ".join(f"{times['fp32'] / times[v]:.2f}x" for v in others)
        print(f"| {method} | {times['fp32']:.3f} | {ratios} |", flush=True)


if __name__ == "__main__":
    main()
