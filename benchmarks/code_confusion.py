"""Which digits each value of an InfoGAN categorical code draws, as the evaluator reads them.

    OMP_NUM_THREADS=1 python benchmarks/code_confusion.py RUN [RUN ...] [--per-value 200]

Prints, per run, a table: one row per code value, one column per digit class, counts of the
generated images (noise and continuous codes drawn from the prior, seeded) that the cached
`mnist` evaluator assigns to each class, followed by the Hungarian-matched accuracy. It shows
where a matched code accuracy below 100% comes from (e.g. two values that each mix 4s and 9s).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

import transynth
from transynth.data import build_task
from transynth.eval.generation import domain_evaluator


def confusion(run: str, per_value: int, code: str, seed: int) -> tuple[np.ndarray, float]:
    model = transynth.load(run)
    task = model.run_config.data.task
    data = build_task(task, model.run_config.data.image_size)
    evaluator = domain_evaluator(data, torch.device("cpu"))
    if evaluator is None:
        raise SystemExit(f"{run}: no evaluator for task {task!r}")
    _, column = model._split(code)
    values = model.cat_codes[column].values
    gen = torch.Generator().manual_seed(seed)
    table = np.zeros((values, evaluator.num_classes), dtype=np.int64)
    for v in range(values):
        noise, cat, cont = model._draw(per_value, gen)
        cat[:, column] = v
        pred = evaluator.logits(model._generate(noise, cat, cont)).argmax(1).numpy()
        np.add.at(table[v], pred, 1)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return table, float(table[rows, cols].sum() / table.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--per-value", type=int, default=200)
    parser.add_argument("--code", default="c1")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for run in args.runs:
        table, accuracy = confusion(run, args.per_value, args.code, args.seed)
        print(f"{run}: rows = values of {args.code}, columns = evaluator classes 0..9")
        for v, row in enumerate(table):
            print(f"  {v}: " + " ".join(f"{n:4d}" for n in row))
        print(f"  matched accuracy {accuracy:.1%}")


if __name__ == "__main__":
    main()
