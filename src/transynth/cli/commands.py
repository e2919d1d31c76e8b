"""The subcommands: each parses nothing itself and calls the public API."""

from __future__ import annotations

import argparse
import os
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
        budget_minutes=args.budget,
        announce=print,
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
        native=args.native,
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


def cmd_models(args: argparse.Namespace) -> int:
    import transynth

    print(transynth.models_table())
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    from transynth.data import list_datasets

    rows = list_datasets()
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        ready = "ready" if r["ready"] else "prepared on first use"
        if not r["ready"] and not r.get("installed", True):
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


#: Subcommand -> its function (``train`` also takes the config overrides: see ``cmd_train``).
HANDLERS = {
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
