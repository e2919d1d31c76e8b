"""A DualGAN or DiscoGAN run evaluated both ways: batch norm with its running averages (the
torch convention and every figure of docs/BENCHMARKS.md) and with the statistics of each batch
of test images (``model.eval_batch_stats``, as the reference codes translate).

    OMP_NUM_THREADS=1 python benchmarks/batch_stats_eval.py RUN [--batch-size 256 8]

With batch statistics the result depends on which test images share a batch, hence the batch
sizes to compare (the evaluation's default is 256). Prints one line per mode and batch size.
"""

from __future__ import annotations

import argparse
import dataclasses

import transynth
from transynth.eval import evaluate
from transynth.training.setup import task_of

KEYS = ("AtoB/translation_accuracy", "BtoA/translation_accuracy", "AtoB/fid", "BtoA/fid")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--batch-size", type=int, nargs="+", default=[256])
    args = parser.parse_args()
    model = transynth.load(args.run)
    if not hasattr(model.config, "eval_batch_stats"):
        raise SystemExit(f"{args.run}: {model.name} has no model.eval_batch_stats option")
    task = task_of(model.run_config)
    running = model.config
    print("mode            batch  " + "  ".join(KEYS))
    for stats in (False, True):
        model.config = dataclasses.replace(running, eval_batch_stats=stats)
        for batch_size in args.batch_size if stats else args.batch_size[:1]:
            metrics = evaluate(model, task, batch_size=batch_size)
            mode = "batch stats" if stats else "running (eval)"
            values = "  ".join(f"{metrics[k]:.4f}" for k in KEYS)
            print(f"{mode:<15} {batch_size:>5}  {values}")


if __name__ == "__main__":
    main()
