"""Seconds per training step of each method's CPU preset: the cost model of sized presets.

Usage:
    OMP_NUM_THREADS=1 python benchmarks/step_costs.py [METHOD ...] [--steps 5] [--sizes 32 64]

Times `--steps` steps of the cpu preset (after benchmarks/speed.py's warm-up) at each size with
the preset's batch and precision (train.amp=auto), on one thread, and prints one YAML line per
method and size. The 32 px figure goes into the preset's ``sizing.seconds_per_step`` with the CPU
it was measured on (``sizing.measured_on``; transynth.training.sizing.cpu_kind()); the other sizes
check the (size / 32)^2 scaling that transynth.training.sizing assumes.
"""

from __future__ import annotations

import argparse

import torch
from speed import seconds_per_step

from transynth.config import resolve_config
from transynth.registry import list_models
from transynth.training.sizing import cpu_kind, sized_model_keys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("methods", nargs="*")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[32])
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"# {cpu_kind()}, 1 thread, torch {torch.__version__}")
    for method in args.methods or list_models():
        for size in args.sizes:
            base = resolve_config(method, preset="cpu")
            model = sized_model_keys(method, base, size)
            if size != base.data.image_size and model is None:
                continue  # a method whose preset is not sized (fixed digit networks)
            train = {"amp": base.train.amp}  # the preset's precision (speed.py sets none)
            seconds = _time(method, size, model or {}, train, args.steps)
            print(
                f"{method}: {{size: {size}, batch: {base.train.batch_size}, "
                f"seconds_per_step: {seconds:.4f}}}",
                flush=True,
            )


def _time(method: str, size: int, model: dict, train: dict, steps: int) -> float:
    import speed

    original = speed.resolve_config

    def sized(m: str, preset: str, overrides: dict):
        overrides = {**overrides, "data": {"image_size": size}, "model": model}
        return original(m, preset=preset, overrides=overrides)

    speed.resolve_config = sized
    try:
        return seconds_per_step(method, "cpu", steps, train)
    finally:
        speed.resolve_config = original


if __name__ == "__main__":
    main()
