"""What the evaluator reads in a run's outputs, class by class: where its errors come from.

    OMP_NUM_THREADS=1 python benchmarks/confusion.py RUN [RUN ...] [--per-value 200]

- An InfoGAN run: one row per value of each categorical code (``--per-value`` images each, the
  noise and other codes drawn from the prior with ``--seed``), one column per class of the
  `mnist` evaluator's reading, then the Hungarian-matched code accuracy. Shows e.g. two values
  that each mix 4s and 9s; for each value that mixes classes (no class above 90%), the reading
  with each continuous code fixed at four levels shows which code decides between them.
- A translator on a labelled two-domain task (e.g. `mnist2uci`): per direction, one row per
  source label of the held-out test images, one column per reading of the target domain's
  evaluator, then the translation accuracy (the diagonal, as in the run's metrics). Shows e.g. a
  cycle of swapped classes (1 -> 2 -> 7 -> 1).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import numpy as np
import torch

import transynth
from transynth.data import build_task
from transynth.eval.classifier import get_evaluator
from transynth.eval.disentanglement import contingency, matched_accuracy
from transynth.eval.generation import domain_evaluator
from transynth.eval.translation import translate_in_batches

Table = tuple[str, np.ndarray, str]  # title, counts, closing line
CONT_LEVELS = (-0.75, -0.25, 0.25, 0.75)


def code_tables(model, task, per_value: int, seed: int) -> Iterator[Table]:
    evaluator = domain_evaluator(task, torch.device("cpu"))
    if evaluator is None:
        raise SystemExit(f"no evaluator for the task {task.name!r}")
    for code in model.cat_codes:
        values = np.repeat(np.arange(code.values), per_value)
        pred = np.concatenate(
            [
                evaluator.logits(model.sample(per_value, codes={code.name: v}, seed=seed + v))
                .argmax(1)
                .numpy()
                for v in range(code.values)
            ]
        )
        accuracy, _ = matched_accuracy(values, pred, code.values, evaluator.num_classes)
        table = contingency(values, pred, code.values, evaluator.num_classes)
        yield f"rows = values of {code.name}", table, f"matched accuracy {accuracy:.1%}"
        for v in np.flatnonzero(table.max(1) < 0.9 * per_value):  # values mixing classes
            yield from mixed_value_tables(model, evaluator, code.name, int(v), per_value, seed)


def mixed_value_tables(model, evaluator, code: str, value: int, n: int, seed: int):
    """For a value that mixes classes: the evaluator's reading with each continuous code fixed
    at -0.75, -0.25, 0.25, 0.75 in turn (rows), the rest drawn as above."""
    for cont in (k for k in model.codes if k.kind == "cont"):
        rows = [
            np.bincount(
                evaluator.logits(model.sample(n, codes={code: value, cont.name: c}, seed=seed))
                .argmax(1)
                .numpy(),
                minlength=evaluator.num_classes,
            )
            for c in CONT_LEVELS
        ]
        title = f"{code}={value}, rows = {cont.name} at {', '.join(map(str, CONT_LEVELS))}"
        yield title, np.stack(rows), f"{n} images per row"


def translation_tables(model, task) -> Iterator[Table]:
    for source, direction in ((0, "AtoB"), (1, "BtoA")):
        images, labels = task.test.domain_tensors(source)
        target = task.domains[1 - source]
        evaluator = get_evaluator(target.name, task.image_size, target.channels)
        pred = evaluator.logits(translate_in_batches(model, images, direction)).argmax(1).numpy()
        table = contingency(labels.numpy(), pred, target.num_classes, target.num_classes)
        title = f"{direction} ({task.domains[source].name} -> {target.name}), rows = source label"
        yield title, table, f"translation accuracy {np.trace(table) / table.sum():.1%}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--per-value", type=int, default=200, help="InfoGAN: images per value")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for run in args.runs:
        model = transynth.load(run)
        data = model.run_config.data
        task = build_task(data.task, data.image_size)
        tables = (
            code_tables(model, task, args.per_value, args.seed)
            if hasattr(model, "cat_codes")
            else translation_tables(model, task)
        )
        for title, table, closing in tables:
            print(f"{run}: {title}, columns = the evaluator's reading")
            for row, counts in enumerate(table):
                print(f"  {row}: " + " ".join(f"{n:4d}" for n in counts))
            print(f"  {closing}")


if __name__ == "__main__":
    main()
