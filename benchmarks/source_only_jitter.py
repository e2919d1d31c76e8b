"""What geometric jitter of the labelled source digits does for a source-only classifier.

The domain-adaptation methods (UNIT, CDRD, E-CDRD) are compared against a source-only classifier
trained in the same run. Their ``model.source_augment`` option trains both on sources passed
through :func:`transynth.nn.augment.geometric_jitter` (scale, aspect, rotation, shift, each
symmetric around the identity). This measures the option on its own, outside any GAN: the
evaluators' classifier architecture (``DomainClassifier``) trained on the source training split,
plain or jittered, same steps and seed, read on the target test and training splits.

    OMP_NUM_THREADS=1 python benchmarks/source_only_jitter.py \
        [--out docs/results/source-only-jitter.json]

About 1 minute per row on one thread. ``--classifier unit`` trains UNIT's source-only baseline
network instead (D_A's private layers + shared trunk + class head, as built by the UNIT CPU
preset) with Adam (0.5, 0.999) at a constant learning rate, jittered only, for the budget given by
``--lr``, ``--batch`` and ``--views`` (jittered copies of each image per step): how much of the
gap between UNIT's in-run baseline and the evaluator architecture is optimisation budget.

    OMP_NUM_THREADS=1 python benchmarks/source_only_jitter.py --classifier unit \
        --pairs mnist:uci-digits \
        --steps 3000 --lr 2e-4 --batch 16 [--views 4]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from transynth.data.domains import load_domain
from transynth.eval.classifier import DomainClassifier
from transynth.nn.augment import geometric_jitter

SIZE = 32
PAIRS = ["mnist:uci-digits", "uci-digits:mnist"]


def evaluator_setup(steps: int) -> tuple[torch.nn.Module, torch.optim.Optimizer, Any]:
    """The evaluators' classifier with AdamW and a one-cycle schedule peaking at 2e-3."""
    model = DomainClassifier(1, 10, 32)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=5e-4)
    return (
        model,
        opt,
        torch.optim.lr_scheduler.OneCycleLR(opt, 2e-3, total_steps=steps, pct_start=0.2),
    )


def unit_setup(lr: float) -> tuple[torch.nn.Module, torch.optim.Optimizer, Any]:
    """UNIT's source-only network at its CPU preset, Adam (0.5, 0.999) at a constant lr."""
    from transynth.config import resolve_config
    from transynth.models.unit import net_shape
    from transynth.nn.unit_nets import SourceOnlyClassifier

    model = SourceOnlyClassifier(1, net_shape(resolve_config("unit").model), 10)
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.5, 0.999))
    return model, opt, None


@torch.no_grad()
def accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    preds = torch.cat([model(xb).argmax(1) for xb in x.split(512)])
    return float((preds == y).float().mean())


def train_and_read(
    source: str, target: str, jitter: bool, args: argparse.Namespace
) -> dict[str, Any]:
    x_s, y_s = load_domain(source, "train", SIZE)
    torch.manual_seed(args.seed)
    if args.classifier == "unit":
        model, opt, sched = unit_setup(args.lr)
    else:
        model, opt, sched = evaluator_setup(args.steps)
    smoothing = 0.05 if args.classifier == "evaluator" else 0.0  # as each is trained elsewhere
    start = time.perf_counter()
    model.train()
    for _ in range(args.steps):
        idx = torch.randint(len(x_s), (args.batch,)).repeat(args.views)
        xb = geometric_jitter(x_s[idx]) if jitter else x_s[idx]
        loss = F.cross_entropy(model(xb), y_s[idx], label_smoothing=smoothing)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
    model.eval()
    row = {"source": source, "target": target, "jitter": jitter}
    row.update({k: getattr(args, k) for k in ("classifier", "steps", "batch", "views", "seed")})
    if args.classifier == "unit":
        row["lr"] = args.lr
    for split in ("test", "train"):
        row[f"target_{split}_accuracy"] = accuracy(model, *load_domain(target, split, SIZE))
    row["source_test_accuracy"] = accuracy(model, *load_domain(source, "test", SIZE))
    row["seconds"] = round(time.perf_counter() - start, 1)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--classifier", choices=("evaluator", "unit"), default="evaluator")
    parser.add_argument(
        "--pairs", nargs="+", default=PAIRS, help="source:target domains (default: both ways)"
    )
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--views", type=int, default=1, help="jittered copies per image per step")
    parser.add_argument("--lr", type=float, default=2e-4, help="--classifier unit only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="write the rows as JSON here")
    args = parser.parse_args()
    # The evaluator architecture is shown plain and jittered; UNIT's network jittered only.
    jitters = (False, True) if args.classifier == "evaluator" else (True,)
    rows = []
    for pair in args.pairs:
        source, target = pair.split(":")
        for jitter in jitters:
            row = train_and_read(source, target, jitter, args)
            rows.append(row)
            print(
                f"{source} -> {target}, jitter {jitter!s:5}: target test "
                f"{row['target_test_accuracy']:.1%}, target train "
                f"{row['target_train_accuracy']:.1%}, source test "
                f"{row['source_test_accuracy']:.1%} ({row['seconds']} s)",
                flush=True,
            )
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
