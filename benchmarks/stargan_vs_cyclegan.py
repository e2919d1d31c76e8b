"""One StarGAN against the per-pair CycleGANs it replaces on the 4 digit styles.

Usage:
    OMP_NUM_THREADS=1 python benchmarks/stargan_vs_cyclegan.py [--steps 20] [--out FILE.json]
        [--stargan-run RUN --cyclegan-run RUN [--quality-only]]

Parameter counts are exact: StarGAN (G + D) built for ``digit-styles`` (4 domains, RGB) against
the sum of the 6 CycleGANs (G_AB, G_BA, D_A, D_B each) of the 4 * 3 / 2 unordered pairs, each
built with its domains' native channels (as the embedded pair tasks, e.g. mnist2printed), at the
CPU and at the paper presets (StarGAN 128 px; CycleGAN's paper preset at 128 px too, with the
6 residual blocks CycleGAN uses at 128 px).

Training time is measured, not read from runs made under different machine load: seconds per
training step of each CPU preset (its own amp and batch) on its default data, timed in this one
process back to back (`--steps` steps after 3 warm-up steps, the two interleaved `--rounds`
times, the median kept). Total = seconds/step x the preset's steps; for CycleGAN that is one
pair (mnist2printed, an RGB/gray pair) x 6 pairs, as said in the output.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import time

import torch

from transynth.config import resolve_config
from transynth.data.multidomain import STYLE_DOMAINS
from transynth.data.types import DomainInfo
from transynth.registry import get_model_class
from transynth.training import Trainer

NATIVE_CHANNELS = {"mnist": 1, "uci-digits": 1, "printed-digits": 3, "mnist-m": 3}


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def parameter_counts(preset: str) -> dict[str, int]:
    size = 32 if preset == "cpu" else 128
    over = {"data": {"image_size": size}}
    if preset == "paper":
        over["model"] = {"n_blocks": 6}  # CycleGAN at 128 px (Zhu et al., appendix 7.2)
    sg_cfg = resolve_config("stargan", preset=preset, overrides={"data": {"image_size": size}})
    domains = tuple(DomainInfo(n, 3, 10) for n in STYLE_DOMAINS)
    sg = get_model_class("stargan")(sg_cfg.model, domains, size)
    cg_cfg = resolve_config("cyclegan", preset=preset, overrides=over)
    pairs = list(itertools.combinations(STYLE_DOMAINS, 2))
    cg_total = cg_g = 0
    for a, b in pairs:
        cg = get_model_class("cyclegan")(
            cg_cfg.model,
            (DomainInfo(a, NATIVE_CHANNELS[a]), DomainInfo(b, NATIVE_CHANNELS[b])),
            size,
        )
        cg_total += n_params(cg)
        cg_g += n_params(cg.G_AB) + n_params(cg.G_BA)
    return {
        "image_size": size,
        "stargan_total": n_params(sg),
        "stargan_G": n_params(sg.G),
        "cyclegan_pairs": len(pairs),
        "cyclegan_total": cg_total,
        "cyclegan_generators": cg_g,
    }


def pair_quality(
    stargan_run: str, cyclegan_run: str, max_images: int = 300
) -> dict[str, dict[str, float]]:
    """Both directions of a CycleGAN run's pair, judged exactly as StarGAN's pairs are (the
    digit-styles domain classifier, the target's digit evaluator, the same first `max_images`
    test images of each source), next to the StarGAN run's translations of those images."""
    import transynth
    from transynth.data import build_task
    from transynth.data.domains import DOMAINS
    from transynth.eval.classifier import get_evaluator
    from transynth.eval.multidomain import task_classifier

    styles = build_task("digit-styles", 32)
    names = [d.name for d in styles.domains]
    dom_clf, _ = task_classifier(styles, "domains")
    sg, cg = transynth.load(stargan_run), transynth.load(cyclegan_run)
    out: dict[str, dict[str, float]] = {}
    for direction, (a, b) in zip(("AtoB", "BtoA"), (cg.domains, cg.domains[::-1]), strict=True):
        x, y = styles.test.domain_tensors(a.name)
        x, y = x[:max_images], y[:max_images]
        ev = get_evaluator(b.name, 32, DOMAINS[b.name].channels)
        t = names.index(b.name)
        for method, model, dirn in (("stargan", sg, b.name), ("cyclegan", cg, direction)):
            with torch.no_grad():
                z = torch.cat(
                    [model.translate(x[i : i + 100], dirn) for i in range(0, len(x), 100)]
                )
            z3 = z.expand(-1, 3, -1, -1) if z.shape[1] == 1 else z
            out[f"{method} {a.name}->{b.name}"] = {
                "domain_accuracy": float((dom_clf.logits(z3).argmax(1) == t).float().mean()),
                "class_accuracy": float((ev.logits(z).argmax(1) == y).float().mean()),
                "images": len(x),
            }
    return out


def _trainer(method: str, task: str) -> tuple[Trainer, object]:
    cfg = resolve_config(
        method,
        preset="cpu",
        overrides={"data": {"task": task}, "train": {"progress": False, "tensorboard": False}},
    )
    trainer = Trainer(cfg, "/tmp/unused-stargan-vs-cyclegan")
    return trainer, iter(trainer._loader())


def _time(trainer: Trainer, batches, start_step: int, steps: int) -> float:
    for i in range(start_step, start_step + steps + 3):
        if i == start_step + 3:
            t0 = time.perf_counter()
        batch = trainer._to_device(next(batches))
        trainer.model.global_step = i
        for phase in trainer.model.phases(i):
            trainer._run_phase(phase, batch)
    return (time.perf_counter() - t0) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", help="also write the results as JSON here")
    parser.add_argument("--stargan-run", help="a digit-styles StarGAN run, to compare ...")
    parser.add_argument("--cyclegan-run", help="... with a CycleGAN run of one of its pairs")
    parser.add_argument("--quality-only", action="store_true", help="skip counts and timing")
    args = parser.parse_args()
    out: dict[str, object] = {}
    if args.stargan_run and args.cyclegan_run:
        out["quality"] = pair_quality(args.stargan_run, args.cyclegan_run)
        print(json.dumps(out["quality"], indent=1), flush=True)
    if args.quality_only:
        _write(out, args.out)
        return
    out.update({p: parameter_counts(p) for p in ("cpu", "paper")})
    print(json.dumps(out, indent=1), flush=True)
    sg, sg_batches = _trainer("stargan", "digit-styles")
    cg, cg_batches = _trainer("cyclegan", "mnist2printed")
    times: dict[str, list[float]] = {"stargan": [], "cyclegan": []}
    for r in range(args.rounds):  # interleaved, so both see the same machine load
        # StarGAN steps of a whole n_critic cycle: multiples of 5 keep the G share right
        n = max(5, args.steps // 5 * 5)
        times["stargan"].append(_time(sg, sg_batches, r * (n + 3), n))
        times["cyclegan"].append(_time(cg, cg_batches, r * (args.steps + 3), args.steps))
        print({k: [round(x, 4) for x in v] for k, v in times.items()}, flush=True)
    sg_steps, cg_steps = sg.config.train.steps, cg.config.train.steps
    s_sg, s_cg = statistics.median(times["stargan"]), statistics.median(times["cyclegan"])
    out["time"] = {
        "threads": torch.get_num_threads(),
        "stargan_s_per_step": s_sg,
        "stargan_steps": sg_steps,
        "stargan_minutes": s_sg * sg_steps / 60,
        "cyclegan_pair_s_per_step": s_cg,
        "cyclegan_steps": cg_steps,
        "cyclegan_pair_minutes": s_cg * cg_steps / 60,
        "cyclegan_6_pairs_minutes": 6 * s_cg * cg_steps / 60,
        "note": "CycleGAN total = one measured pair (mnist2printed, cpu preset) x 6 pairs",
    }
    print(json.dumps(out["time"], indent=1))
    _write(out, args.out)


def _write(out: dict[str, object], path: str | None) -> None:
    if path:
        with open(path, "w") as f:
            json.dump(out, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
