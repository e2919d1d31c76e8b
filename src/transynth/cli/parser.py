"""The argument parser of the `transynth` command line."""

from __future__ import annotations

import argparse


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
        "--budget",
        type=float,
        metavar="MINUTES",
        help="CPU minutes a preset sized to the data fits its batch and steps in (default 15)",
    )
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
    p.add_argument(
        "--tile",
        type=int,
        help="translate in overlapping tiles of N x N pixels (of the image at the trained scale; "
        "with --native, at its own resolution)",
    )
    p.add_argument("--overlap", type=int, default=32, help="pixels shared by tiles (--tile)")
    p.add_argument(
        "--native",
        action="store_true",
        help="run the generator at each image's full resolution (fully convolutional generators) "
        "instead of at the trained scale (default: resized to the training size and back)",
    )
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
