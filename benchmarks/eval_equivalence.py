"""Train every method a few steps at its tiny test settings, evaluate, and write the metrics.

The metrics and figure files of each run go to one JSON file, so that two checkouts (e.g. before
and after a restructuring of the evaluation code) can be compared exactly:

    OMP_NUM_THREADS=1 PYTHONPATH=OLD/src python benchmarks/eval_equivalence.py --out old.json
    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/eval_equivalence.py --out new.json
    python benchmarks/eval_equivalence.py --compare old.json new.json

The tasks are the in-memory toy tasks of tests/conftest.py with their domains renamed after
embedded digit domains, so that every evaluation protocol finds an evaluator. The evaluators are
stand-ins (an untrained, seeded ``DomainClassifier`` per domain and channel count) instead of the
cached trained ones: this compares the code paths, not the quality of the methods, and needs no
evaluator training. Runs are deterministic with ``OMP_NUM_THREADS=1``.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

TESTS = Path(__file__).resolve().parent.parent / "tests"
#: Embedded domain names given to the toy domains (their evaluators are looked up by name).
RENAMED = {"toyA": "mnist", "toyB": "uci-digits", "toy": "mnist"}
#: (run name, method, toy task kind)
RUNS = [
    ("pix2pix", "pix2pix", "paired"),
    ("cyclegan", "cyclegan", "unpaired"),
    ("dualgan", "dualgan", "unpaired"),
    ("discogan", "discogan", "unpaired"),
    ("unit", "unit", "unpaired"),
    ("dtn", "dtn", "unpaired"),
    ("infogan", "infogan", "classes"),
    ("acgan", "acgan", "classes"),
    ("stargan-domains", "stargan", "domains"),
    ("stargan-attributes", "stargan", "attributes"),
    ("cdrd", "cdrd", "unpaired"),
    ("ecdrd", "ecdrd", "unpaired"),
]


def stand_in_evaluator(domain: str, image_size: int, channels: int, **_: Any) -> Any:
    """An untrained DomainClassifier seeded by (domain, channels), in eval mode: deterministic
    logits and features that differ between images (4 classes, as the toy tasks have)."""
    from transynth.eval.classifier import DomainClassifier

    seed = int(hashlib.sha256(f"{domain}-{channels}".encode()).hexdigest()[:8], 16)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = DomainClassifier(channels, 4, width=8)
    model.image_size = image_size
    model.test_accuracy = 0.5
    model.domain = domain
    return model.eval()


def use_stand_in_evaluators() -> None:
    """Replace get_evaluator in every loaded transynth module that imported it."""
    import transynth.eval.classifier as classifier

    original = classifier.get_evaluator
    for name, module in list(sys.modules.items()):
        if name.startswith("transynth") and getattr(module, "get_evaluator", None) is original:
            module.get_evaluator = stand_in_evaluator


class IntIndexed:
    """A split that also takes a plain int index (as the multi-domain evaluation reads items)."""

    def __init__(self, split: Any) -> None:
        self.split = split

    def __getattr__(self, name: str) -> Any:
        return getattr(self.split, name)

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, index: Any) -> Any:
        from transynth.data.types import SampleIndex

        if isinstance(index, int):
            index = SampleIndex(index, (index,))
        return self.split[index]


def renamed_task(kind: str) -> Any:
    from conftest import make_task

    task = make_task(kind)
    domains = tuple(dataclasses.replace(d, name=RENAMED.get(d.name, d.name)) for d in task.domains)
    if kind == "attributes":  # an attributes task's one domain lists the attribute names
        domains = (dataclasses.replace(domains[0], class_names=task.attribute_names),)
        task = dataclasses.replace(task, train=IntIndexed(task.train), test=IntIndexed(task.test))
    return dataclasses.replace(task, domains=domains)


def run_one(method: str, kind: str, steps: int, folder: Path) -> dict[str, Any]:
    from conftest import tiny_trainer

    trainer = tiny_trainer(method, folder, task=renamed_task(kind), steps=steps, evaluate=True)
    run_dir = trainer.fit()
    metrics = json.loads((run_dir / "metrics.json").read_text())["metrics"]
    files = sorted((run_dir / "figures").glob("*")) if (run_dir / "figures").is_dir() else []
    return {
        "metrics": metrics,
        "figures": [p.name for p in files],
        "figure_sha256": [hashlib.sha256(p.read_bytes()).hexdigest()[:16] for p in files],
    }


def compare(old_path: Path, new_path: Path) -> int:
    old, new = json.loads(old_path.read_text()), json.loads(new_path.read_text())
    bad = 0
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name), new.get(name)
        if json.dumps(a) == json.dumps(b):  # as text: NaN equals NaN
            print(f"{name:20s} identical: {len(a['metrics'])} metrics, {len(a['figures'])} files")
            continue
        bad += 1
        if a is None or b is None:
            print(f"{name:20s} only in {'new' if a is None else 'old'}")
            continue
        for key in sorted(set(a["metrics"]) | set(b["metrics"])):
            if json.dumps(a["metrics"].get(key)) != json.dumps(b["metrics"].get(key)):
                print(f"{name:20s} {key}: {a['metrics'].get(key)} != {b['metrics'].get(key)}")
        if list(a["metrics"]) != list(b["metrics"]):
            print(f"{name:20s} the metrics come in another order")
        for key in ("figures", "figure_sha256"):
            if a[key] != b[key]:
                print(f"{name:20s} {key}: {a[key]} != {b[key]}")
    print("all identical" if bad == 0 else f"{bad} runs differ")
    return 1 if bad else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="JSON file to write {run: metrics, figures}")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="run names to run (default: all)")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("OLD", "NEW"))
    args = parser.parse_args()
    if args.compare:
        return compare(*args.compare)
    if args.out is None:
        parser.error("give --out FILE or --compare OLD NEW")
    sys.path.insert(0, str(TESTS))
    import transynth
    import transynth.models  # noqa: F401 - registers the methods, importing the eval modules

    print("transynth from", Path(transynth.__file__).parent, file=sys.stderr)
    use_stand_in_evaluators()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, method, kind in RUNS:
            if args.only and name not in args.only:
                continue
            results[name] = run_one(method, kind, args.steps, Path(tmp) / name)
            print(name, len(results[name]["metrics"]), "metrics", file=sys.stderr)
    args.out.write_text(json.dumps(results, indent=1, sort_keys=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
