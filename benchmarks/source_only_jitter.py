"""What geometric jitter of the labelled source digits does for a source-only classifier.

The domain-adaptation methods (UNIT, CDRD, E-CDRD) are compared against a source-only classifier
trained in the same run. Their ``model.source_augment`` option trains both on sources passed
through :func:`transynth.nn.augment.geometric_jitter` (scale, aspect, rotation, shift, each
symmetric around the identity). This measures the option on its own, outside any GAN: the
evaluators' classifier architecture (``DomainClassifier``) trained on the source training split,
plain or jittered, same steps and seed, read on the target test and training splits.

    OMP_NUM_THREADS=1 python benchmarks/source_only_jitter.py \
        [--out docs/results/source-only-jitter.json]

About 1 minute per row on one thread.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from transynth.data.domains import load_domain
from transynth.eval.classifier import DomainClassifier
from transynth.nn.augment import geometric_jitter

SIZE = 32
PAIRS = (("mnist", "uci-digits"), ("uci-digits", "mnist"))


def train_and_read(source: str, target: str, jitter: bool, steps: int, seed: int) -> dict:
    x_s, y_s = load_domain(source, "train", SIZE)
    torch.manual_seed(seed)
    model = DomainClassifier(1, 10, 32)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 2e-3, total_steps=steps, pct_start=0.2)
    start = time.perf_counter()
    for _ in range(steps):
        idx = torch.randint(len(x_s), (64,))
        xb = geometric_jitter(x_s[idx]) if jitter else x_s[idx]
        loss = F.cross_entropy(model(xb), y_s[idx], label_smoothing=0.05)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    model.eval()
    row = {"source": source, "target": target, "jitter": jitter, "steps": steps, "seed": seed}
    for split in ("test", "train"):
        x_t, y_t = load_domain(target, split, SIZE)
        row[f"target_{split}_accuracy"] = float((model.logits(x_t).argmax(1) == y_t).float().mean())
    x_v, y_v = load_domain(source, "test", SIZE)
    row["source_test_accuracy"] = float((model.logits(x_v).argmax(1) == y_v).float().mean())
    row["seconds"] = round(time.perf_counter() - start, 1)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="write the rows as JSON here")
    args = parser.parse_args()
    rows = []
    for source, target in PAIRS:
        for jitter in (False, True):
            row = train_and_read(source, target, jitter, args.steps, args.seed)
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
