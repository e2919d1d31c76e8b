"""Training throughput of each preset's default path against plain fp32 eager (issue 25).

Usage:
    python benchmarks/throughput.py [--only NAME ...] [--steps 5] [--rounds 5] [--sizes PX ...]
        [--threads N] [--peak-n 2048] [--out table.md] [--json rows.json]

For each configuration (the paper-scale CycleGAN at 128 and 256 px, pix2pix at 256 and StarGAN
at 128, all at batch 1, and the cpu presets at their own sizes), builds two trainers in this
process: (a) the plain fp32 eager path (train.amp=none, no compile, no channels_last: the
reference code's speed) and (b) the default path (the preset as a user gets it), warms both up as
benchmarks/speed.py does, and times `--rounds` alternating rounds (a, b, a, b, ...) of `--steps`
full training steps (every phase). It prints the median seconds/step of each, the speed-up a/b,
the FLOPs of one step (torch.utils.flop_counter), the achieved FLOP/s and their % of the peak
measured in the same run (an n^3 bf16 and fp32 matmul), the time spent fetching each batch, and
the parameter counts against the reference architectures (CycleGAN 28.29 M, pix2pix 57.18 M).
Paper presets, which expect the user's folder, read a small synthetic folder of RGB PNGs.
`--sizes 32` (or smaller) with `--steps 1 --rounds 1` is a smoke test; paper-scale figures need a
quiet machine.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from transynth.benchmark.throughput import (
    CONFIGS,
    config_named,
    cpu_features,
    matmul_peak,
    measure,
    new_scratch_dir,
)

COLUMNS = (
    "configuration",
    "parameters (M)",
    "default path",
    "fp32 eager s/step",
    "default s/step",
    "speed-up (a/b)",
    "GFLOP/step",
    "fp32 GFLOP/s (% of fp32 peak)",
    "default GFLOP/s (% of its peak)",
    "data s/step (fp32 / default)",
)


def _path_name(row: dict) -> str:
    d = row["default_path"]
    extras = [k for k in ("compile", "channels_last") if d[k]]
    return "+".join([row["default"]["precision"], *extras])


def _achieved(path: dict) -> str:
    frac = path["fraction_of_peak"]
    pct = f" ({100 * frac:.1f}%)" if frac is not None else ""
    return f"{path['flops_per_second'] / 1e9:.1f}{pct}"


def table_row(row: dict) -> str:
    """One Markdown row of a `measure` result, in COLUMNS order."""
    a, b = row["fp32"], row["default"]
    check = {"matches": "; = reference", "differs": "; DIFFERS from reference"}
    check = check.get(row["parameter_check"], "")
    cells = [
        f"{row['name']} @{row['image_size']} px, batch {row['batch_size']}",
        f"{row['parameters']['total'] / 1e6:.2f} ({row['parameters_counted']}{check})",
        _path_name(row),
        f"{a['seconds_per_step']:.4f}",
        f"{b['seconds_per_step']:.4f}",
        f"{row['speedup']:.2f}x",
        f"{row['flops_per_step'] / 1e9:.2f}",
        _achieved(a),
        _achieved(b),
        f"{a['data_seconds_per_step']:.4f} / {b['data_seconds_per_step']:.4f}",
    ]
    return "| " + " | ".join(cells) + " |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    names = [c.name for c in CONFIGS]
    parser.add_argument("--only", nargs="+", metavar="NAME", help=f"among {', '.join(names)}")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per round")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per path")
    parser.add_argument("--sizes", type=int, nargs="+", help="image sides instead of their own")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    parser.add_argument("--peak-n", type=int, default=2048, help="side of the peak matmuls")
    parser.add_argument("--out", type=Path, help="also write the Markdown table here")
    parser.add_argument("--json", type=Path, help="also write every measurement here")
    args = parser.parse_args(argv)
    try:
        configs = [config_named(n) for n in args.only] if args.only else list(CONFIGS)
    except ValueError as e:
        parser.error(str(e))
    if args.steps < 1 or args.rounds < 1 or args.peak_n < 1:
        parser.error("--steps, --rounds and --peak-n must be >= 1")
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    device = "cuda" if torch.cuda.is_available() else "cpu"  # the trainer's device=auto
    cpu = cpu_features()
    peaks = {
        "fp32": matmul_peak(torch.float32, args.peak_n, device=device),
        "bf16": matmul_peak(torch.bfloat16, args.peak_n, device=device),
    }
    gpu = torch.cuda.get_device_name(0) if device == "cuda" else "none"
    header = [
        f"CPU: {cpu['model']}; kind {cpu['kind']} (torch capability {cpu['torch_capability']}, "
        f"amx_bf16 {cpu['amx_bf16']}, avx512_bf16 {cpu['avx512_bf16']}); GPU: {gpu}",
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; peak ({args.peak_n}^3 "
        f"matmul on {device}): fp32 {peaks['fp32'] / 1e9:.1f} GFLOP/s, "
        f"bf16 {peaks['bf16'] / 1e9:.1f} GFLOP/s",
        f"{args.rounds} alternating rounds of {args.steps} steps per path; medians of rounds",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + " --- |" * len(COLUMNS),
    ]
    print("\n".join(header), flush=True)
    lines, rows, warnings = list(header), [], []
    with new_scratch_dir() as scratch:
        for bc in configs:
            for size in args.sizes or [None]:
                row = measure(
                    bc,
                    steps=args.steps,
                    rounds=args.rounds,
                    peaks=peaks,
                    scratch=scratch,
                    size=size,
                )
                rows.append(row)
                lines.append(table_row(row))
                print(lines[-1], flush=True)
                warnings += [f"WARNING {row['name']}: {w}" for w in row["parameter_warnings"]]
    if warnings:
        print("\n".join(["", *warnings]), file=sys.stderr)
        lines += ["", *warnings]
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")
    if args.json:
        meta = {
            "cpu": cpu,
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "device": device,
            "gpu": gpu,
            "peaks": peaks,
            "steps": args.steps,
            "rounds": args.rounds,
        }
        args.json.write_text(json.dumps({**meta, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
