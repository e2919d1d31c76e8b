"""`transynth` command line: every subcommand parses its arguments and calls the public API."""

from __future__ import annotations

import argparse
import errno
import os
import sys
from pathlib import Path


def _split_overrides(extra: list[str]) -> list[str]:
    """Accept `--model.k=v` and `--model.k v`; anything else is an error naming it."""
    out, i = [], 0
    while i < len(extra):
        arg = extra[i]
        head = arg.lstrip("-").split("=", 1)[0]
        if (
            not arg.startswith("--")
            or head.split(".", 1)[0] not in ("model", "data", "train")
            or "." not in head
        ):
            raise SystemExit(
                f"transynth: error: unrecognised argument {arg!r}; config overrides look like "
                "--model.KEY=VALUE, --data.KEY=VALUE or --train.KEY=VALUE"
            )
        if "=" not in arg:
            if i + 1 >= len(extra):
                raise SystemExit(f"transynth: error: {arg} needs a value")
            arg = f"{arg}={extra[i + 1]}"
            i += 1
        out.append(arg)
        i += 1
    return out


def cmd_train(args: argparse.Namespace, extra: list[str]) -> int:
    import transynth

    run = transynth.train(
        args.method,
        args.data,
        preset=args.preset,
        config_file=args.config,
        steps=args.steps,
        out=args.out,
        overrides=_split_overrides(extra),
    )
    print(f"run folder: {run}")
    return 0


def _parse_settings(items: list[str], flag: str) -> dict[str, str]:
    """`NAME=VALUE` items (from a repeated flag) as a dict; anything else is an error naming it."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise ValueError(f"{flag} {item!r}: expected NAME=VALUE, e.g. {flag} c1=3")
        out[name] = value
    return out


def _number(text: str, flag: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{flag}: {text!r} is not a number") from None


def cmd_translate(args: argparse.Namespace) -> int:
    import transynth
    from transynth.inference import output_suffix, plan_outputs, translate_files

    model = transynth.load(args.run, device=args.device, checkpoint=args.checkpoint)
    direction = model.resolve_direction(args.to) if args.to else args.direction
    condition: dict = {}
    if args.label is not None:
        condition["label"] = args.label
    if args.set:
        condition["attributes"] = _parse_settings(args.set, "--set")
    pairs = plan_outputs(args.inputs, args.out, output_suffix(args.to or direction, condition))
    tile = {"tile": args.tile, "overlap": args.overlap} if args.tile else {}
    result = translate_files(
        model,
        pairs,
        direction,
        overwrite=args.overwrite,
        progress=not args.quiet,
        **tile,
        **condition,
    )
    print(result.summary(Path(args.out)))
    return 2 if result.failed else 0


def cmd_sample(args: argparse.Namespace) -> int:
    import torch

    import transynth
    from transynth.data import save_grid, tensor_to_image

    if args.n < 1:
        raise ValueError(f"--n {args.n}: the number of images must be at least 1")
    model = transynth.load(args.run, device=args.device, checkpoint=args.checkpoint)
    codes = {k: _number(v, "--code") for k, v in _parse_settings(args.code or [], "--code").items()}
    images = model.sample(args.n, labels=args.label, codes=codes or None, seed=args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    groups = images if isinstance(images, dict) else {"sample": images}
    for prefix, batch in groups.items():
        batch = batch.float().cpu().clamp(-1, 1)
        for i, image in enumerate(batch):
            tensor_to_image(image).save(out / f"{prefix}_{i:04d}.png")
    if len(groups) > 1:  # joint samples: one row per domain, the pairs aligned in columns
        grid = torch.cat([b.float().cpu().expand(-1, 3, -1, -1) for b in groups.values()])
        save_grid(grid, out / "grid.png", args.n)
    else:
        batch = next(iter(groups.values())).float().cpu()
        save_grid(batch, out / "grid.png", max(1, int(args.n**0.5 + 0.5)))
    total = sum(len(b) for b in groups.values())
    print(f"wrote {total} image(s) and grid.png into {out}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    import transynth

    model = transynth.load(args.run, checkpoint=args.checkpoint)
    condition: dict = {}
    if args.label is not None:
        condition["label"] = args.label
    if args.set:
        condition["attributes"] = _parse_settings(args.set, "--set")
    if (args.sampler or args.conditional) and (condition or args.to):
        raise ValueError(
            "--sampler and --conditional export a whole generator: they take no --to, --label "
            "or --set"
        )
    direction = model.resolve_direction(args.to) if args.to else args.direction
    contract = model.export(
        args.out,
        direction=direction,
        sampler=args.sampler,
        conditional=args.conditional,
        fmt=args.format,
        **condition,
    )
    inputs = ", ".join(f"{i['name']} {i['shape']}" for i in contract["inputs"])
    print(
        f"wrote {args.out} ({contract['format']}: {contract['computes']}; inputs {inputs}; "
        f"max difference to the method {contract['verified']['max_abs_difference']:.2g}) "
        f"and {Path(args.out).with_suffix('.json')}"
    )
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    import transynth
    from transynth.eval.uncertainty import accuracy_interval

    if args.inception_weights:  # read by every evaluation that reports Inception FID/KID
        from transynth.eval.inception import ENV_VAR, load_inception

        load_inception(args.inception_weights)  # fail early, naming the file
        os.environ[ENV_VAR] = args.inception_weights
    metrics = transynth.evaluate(args.run, args.data, checkpoint=args.checkpoint)
    width = max(map(len, metrics), default=0)
    for key, value in metrics.items():
        interval = accuracy_interval(key, metrics)  # 95% Wilson, where the count is known
        shown = f"  [{interval[0]:.4f}, {interval[1]:.4f}]" if interval else ""
        print(f"{key.ljust(width)}  {value:.4f}{shown}")
    return 0


def cmd_benchmark(args: argparse.Namespace) -> int:
    from transynth.benchmark.runner import results_file, run_benchmark, write_tables

    if args.tables_only:
        results = results_file(args.out, args.results)
        write_tables(results)
        print(f"wrote {results.with_suffix('.md')} and {results.with_suffix('.html')}")
        return 0
    run_benchmark(
        args.names, out=args.out, results=args.results, steps=args.steps, seeds=args.seeds
    )
    return 0


def _seed_list(text: str) -> list[int]:
    """`0,1,2` -> [0, 1, 2] (argparse type of --seeds)."""
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        seeds = []
    if not seeds or min(seeds) < 0:
        raise argparse.ArgumentTypeError(
            f"--seeds takes non-negative integers separated by commas (e.g. 0,1,2), got {text!r}"
        )
    return list(dict.fromkeys(seeds))


def cmd_models(args: argparse.Namespace) -> int:
    import transynth

    print(transynth.models_table())
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    from transynth.data import list_datasets
    from transynth.data.domains import domain_unavailable

    rows = list_datasets()
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        ready = "ready" if r["ready"] else "prepared on first use"
        if not r["ready"] and r["type"] == "domain" and domain_unavailable(r["name"]):
            ready = "not installed"
        name = r["name"].ljust(width)
        print(f"{name}  {r['type']:<6}  {r['kind']:<10}  {ready:<21}  {r['description']}")
    return 0


def _run_serve(args: argparse.Namespace) -> int:
    from transynth.serve import cli as serve_cli

    return serve_cli.run(args)


def _run_recompose(args: argparse.Namespace) -> int:
    from transynth.recompose import cli as recompose_cli

    return recompose_cli.run(args)


def _add_run_arguments(p: argparse.ArgumentParser) -> None:
    """The trained run a command reads, and which of its weights."""
    p.add_argument("run", help="a run folder or a checkpoint file")
    p.add_argument(
        "--checkpoint",
        default="final",
        choices=("final", "best", "last"),
        help="which weights of a run folder: final, best (train.best_metric) or last",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="transynth", description="Transfer learning for visual synthesis."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "train",
        help="train a method (extra --model.K=V/--data.K=V/--train.K=V override the config)",
    )
    p.add_argument("method", help="a method name (see `transynth models`)")
    p.add_argument(
        "--data",
        help="an embedded task (see `transynth datasets`) or a folder; default: the method's task",
    )
    p.add_argument(
        "--preset", default="cpu", help="cpu (minutes on a laptop) or paper (published scale)"
    )
    p.add_argument("--config", help="a YAML file with model/data/train sections")
    p.add_argument("--steps", type=int, help="training steps (overrides train.steps)")
    p.add_argument(
        "--out", help="run folder (default runs/METHOD-TASK-TIME); an existing run is resumed"
    )

    p = sub.add_parser("translate", help="translate image files or folders with a trained run")
    _add_run_arguments(p)
    p.add_argument("inputs", nargs="+", help="image files or folders")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--direction", default="AtoB", help="AtoB, or BtoA for bidirectional methods")
    p.add_argument(
        "--to", help="target domain by name (multi-domain methods; two-domain runs accept it too)"
    )
    p.add_argument("--label", type=int, help="translate with this class/attribute (E-CDRD)")
    p.add_argument(
        "--set", action="append", metavar="ATTR=VALUE", help="target attribute (StarGAN); repeat"
    )
    p.add_argument("--device", default="cpu")
    p.add_argument("--tile", type=int, help="translate in overlapping tiles of N x N pixels")
    p.add_argument("--overlap", type=int, default=32, help="pixels shared by tiles (--tile)")
    p.add_argument("--overwrite", action="store_true", help="translate files already written")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser("sample", help="generate images from noise with a trained generator")
    _add_run_arguments(p)
    p.add_argument("--n", type=int, default=64, help="number of images")
    p.add_argument("--label", type=int, help="class of every image (label-conditioned methods)")
    p.add_argument(
        "--code", action="append", metavar="NAME=VALUE", help="fix a latent code (InfoGAN); repeat"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the noise")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--device", default="cpu")

    p = sub.add_parser(
        "evaluate", help="evaluate a trained run on held-out data; writes metrics.json"
    )
    _add_run_arguments(p)
    p.add_argument("--data", help="evaluate on another task or folder than the training one")
    p.add_argument(
        "--inception-weights",
        metavar="FILE",
        help="local FID Inception-v3 weights (pt_inception-2015-12-05 .pth or .safetensors): "
        "adds inception_fid / inception_kid",
    )

    p = sub.add_parser(
        "export", help="write a trained generator as a stand-alone .pt2 or .onnx graph, checked"
    )
    _add_run_arguments(p)
    p.add_argument("--out", required=True, help="FILE.pt2 (torch.export) or FILE.onnx")
    p.add_argument("--format", choices=("pt2", "onnx"), help="default: from the file suffix")
    p.add_argument(
        "--sampler", action="store_true", help="export the generator from noise (not a translation)"
    )
    p.add_argument(
        "--conditional",
        action="store_true",
        help="multi-domain methods (StarGAN): the target labels become an input, one graph for all",
    )
    p.add_argument("--direction", default="AtoB", help="AtoB, or BtoA for bidirectional methods")
    p.add_argument("--to", help="target domain by name (multi-domain methods)")
    p.add_argument("--label", type=int, help="translate with this class/attribute (E-CDRD)")
    p.add_argument(
        "--set", action="append", metavar="ATTR=VALUE", help="target attribute (StarGAN); repeat"
    )

    p = sub.add_parser("benchmark", help="train and evaluate methods for a fixed budget; one table")
    p.add_argument("names", nargs="*", help="suites (quick, full, extra) or entries; default quick")
    p.add_argument("--out", default="bench_runs", help="folder for the runs")
    p.add_argument("--results", help="results JSON (default OUT/benchmark.json); .md/.html beside")
    p.add_argument("--steps", type=int, help="override every entry's step count")
    p.add_argument(
        "--seeds",
        type=_seed_list,
        help="run each entry on these seeds (e.g. 0,1,2: entries x, x-seed1, x-seed2) and "
        "add mean +- std across them to the tables",
    )
    p.add_argument(
        "--tables-only",
        action="store_true",
        help="only rewrite the .md/.html tables of the results file; train nothing",
    )

    from transynth.serve import cli as serve_cli  # cheap: starlette is imported on use

    serve_cli.add_parser(sub)
    from transynth.recompose import cli as recompose_cli  # cheap: the package imports lazily

    recompose_cli.add_parser(sub)
    sub.add_parser("models", help="the methods and the lecture's comparison table")
    sub.add_parser("datasets", help="embedded datasets and tasks, and whether each is ready")
    return parser


def main(argv: list[str] | None = None) -> int:
    from transynth.config import ConfigError
    from transynth.runfolder import RunFolderError
    from transynth.training import TrainingDiverged
    from transynth.training.checkpoint import CheckpointError, DiskFull
    from transynth.training.preemption import INTERRUPTED_EXIT, RunInterrupted

    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "train":
        parser.error(f"unrecognised arguments: {' '.join(extra)}")
    handlers = {
        "translate": cmd_translate,
        "sample": cmd_sample,
        "recompose": _run_recompose,
        "benchmark": cmd_benchmark,
        "evaluate": cmd_evaluate,
        "export": cmd_export,
        "models": cmd_models,
        "datasets": cmd_datasets,
        "serve": _run_serve,
    }
    try:
        if args.command == "train":
            return cmd_train(args, extra)
        return handlers[args.command](args)
    except (
        ConfigError,
        CheckpointError,
        RunFolderError,
        TrainingDiverged,
        DiskFull,
        FileNotFoundError,
        ValueError,
    ) as err:
        print(f"transynth: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a full disk while writing logs or samples, not a checkpoint
        if err.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        print(f"transynth: error: disk full: {err}; the last checkpoint is kept", file=sys.stderr)
        return 2
    except RunInterrupted as stop:  # see docs/RELIABILITY.md: resumable, not a failure of it
        print(f"transynth: interrupted: {stop}", file=sys.stderr)
        return INTERRUPTED_EXIT
    except KeyboardInterrupt:
        print("transynth: interrupted; the last checkpoint is kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
