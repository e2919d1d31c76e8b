"""Inference speed of an exported run: the method in eager PyTorch, its `.pt2` graph and its ONNX
graph in onnxruntime, on the same inputs in one process (ratios, not absolute times, carry over).

    OMP_NUM_THREADS=1 python benchmarks/export_speed.py RUN [--sampler] [--batch 64] [--rounds 20]

Exports the run's translation AtoB (or, with --sampler, its generator from noise) into a
temporary folder, then times each runtime alternately over `rounds` rounds of one batch and
prints the median milliseconds per batch, each runtime's speed-up over eager PyTorch, and the
largest difference of each graph's output from the method's.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

import transynth
from transynth.export import probe_inputs, reference_outputs


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--sampler", action="store_true")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()

    model = transynth.load(args.run)
    spec = model.sampler_export_spec() if args.sampler else model.translation_export_spec()
    inputs = probe_inputs(spec, args.batch, None)
    want = reference_outputs(spec, inputs)
    with tempfile.TemporaryDirectory() as folder:
        pt2, onnx = Path(folder) / "g.pt2", Path(folder) / "g.onnx"
        model.export(pt2, sampler=args.sampler)
        model.export(onnx, sampler=args.sampler)
        program = torch.export.load(str(pt2)).module()
        import onnxruntime

        options = onnxruntime.SessionOptions()  # as many threads as torch uses: a fair ratio
        options.intra_op_num_threads = options.inter_op_num_threads = torch.get_num_threads()
        session = onnxruntime.InferenceSession(
            str(onnx), options, providers=["CPUExecutionProvider"]
        )
        feed = {name: x.numpy() for name, x in inputs.items()}

        def eager() -> object:
            with torch.no_grad():
                return spec.module(*inputs.values())

        def exported() -> object:
            with torch.no_grad():
                return program(*inputs.values())

        runners = {"eager": eager, "pt2": exported, "onnxruntime": lambda: session.run(None, feed)}
        outputs = {name: run() for name, run in runners.items()}  # also the warm-up
        times: dict[str, list[float]] = {name: [] for name in runners}
        for _ in range(args.rounds):
            for name, run in runners.items():
                times[name].append(_timed(run))

    base = statistics.median(times["eager"])
    print(
        f"{model.name}, {spec.contract['computes']}, batch {args.batch}, {args.rounds} rounds, "
        f"{torch.get_num_threads()} thread(s)"
    )
    print("runtime       ms/batch  speed-up  max |difference|")
    for name, samples in times.items():
        got = outputs[name]
        got = got if isinstance(got, (tuple, list)) else (got,)
        pairs = zip(got, want, strict=True)
        diff = max(float((torch.as_tensor(g).float() - w).abs().max()) for g, w in pairs)
        median = statistics.median(samples)
        print(f"{name:<12} {1000 * median:9.2f}  {base / median:8.2f}x  {diff:.2g}")


if __name__ == "__main__":
    main()
