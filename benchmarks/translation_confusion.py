"""Which class a translator's outputs are read as, per source class, in both directions.

    OMP_NUM_THREADS=1 python benchmarks/translation_confusion.py RUN [RUN ...]

For a run of a bidirectional translator on a labelled two-domain task (e.g. `mnist2uci`), each
held-out test image of A is translated to B (and B to A); the cached evaluator of the target
domain labels the result. Prints one table per direction (rows: the source label, columns: the
evaluator's reading) and the translation accuracy (the diagonal), as in the run's metrics.
It shows whether errors are spread out or are a few swapped classes (e.g. 1 -> 2 -> 7 -> 1).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

import transynth
from transynth.data import build_task
from transynth.eval.classifier import get_evaluator


def confusion(model, task, source: int, direction: str) -> np.ndarray:
    images, labels = task.test.domain_tensors(source)
    target = task.domains[1 - source]
    evaluator = get_evaluator(target.name, task.image_size, target.channels)
    with torch.no_grad():
        out = torch.cat(
            [
                model.translate(images[i : i + 200], direction=direction)
                for i in range(0, len(images), 200)
            ]
        )
    pred = evaluator.logits(out).argmax(1).numpy()
    table = np.zeros((target.num_classes, target.num_classes), dtype=np.int64)
    np.add.at(table, (labels.numpy(), pred), 1)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    args = parser.parse_args()
    for run in args.runs:
        model = transynth.load(run)
        cfg = model.run_config.data
        task = build_task(cfg.task, cfg.image_size)
        for source, direction in ((0, "AtoB"), (1, "BtoA")):
            table = confusion(model, task, source, direction)
            names = f"{task.domains[source].name} -> {task.domains[1 - source].name}"
            print(f"{run} {direction} ({names}): rows = source label, columns = evaluator reading")
            for label, row in enumerate(table):
                print(f"  {label}: " + " ".join(f"{n:4d}" for n in row))
            print(f"  translation accuracy {np.trace(table) / table.sum():.1%}")


if __name__ == "__main__":
    main()
