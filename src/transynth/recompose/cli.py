"""``transynth recompose INPUT --reference REF --out OUT``: the command line of the recomposition.

``add_parser(subparsers)`` adds the subcommand to the main ``transynth`` parser and
``run(args)`` executes it; the heavy imports happen only in ``run``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``recompose`` subcommand to `subparsers` and return its parser."""
    p = subparsers.add_parser(
        "recompose",
        help="transfer the composition of a reference photo (objects moved to its layout)",
        description=(
            "Move and scale the salient objects of INPUT to where the matched objects of the "
            "reference sit (saliency + GrabCut objects, graph matching, cut-paste-inpaint). "
            "Writes OUT, OUT_figure.png (input, reference, result with masks and matching) and "
            "OUT.json (objects, matching, moves and composition scores)."
        ),
    )
    p.add_argument("input", help="the photo to recompose")
    p.add_argument("--reference", required=True, help="the photo whose composition to copy")
    p.add_argument("--out", required=True, help="the result image file (e.g. out.png)")
    p.add_argument(
        "--method", default="ipfp", choices=("ipfp", "spectral"), help="graph matching method"
    )
    p.add_argument(
        "--fill",
        default="patch",
        choices=("patch", "diffusion"),
        help="how the region a moved object leaves is filled (exemplar patches or smooth)",
    )
    p.add_argument("--objects", type=int, default=4, help="at most this many objects per photo")
    p.add_argument(
        "--max-side", type=int, default=256, help="longest side for object discovery (pixels)"
    )
    p.add_argument(
        "--output-max-side", type=int, default=1024, help="longest side of the result (pixels)"
    )
    p.add_argument("--no-figure", action="store_true", help="do not write the side-by-side figure")
    return p


def figure_path(out: str | Path) -> Path:
    """Where the figure of a result written to `out` goes: OUT stem + ``_figure.png``."""
    out = Path(out)
    return out.with_name(f"{out.stem}_figure.png")


def run(args: argparse.Namespace) -> int:
    """Run ``transynth recompose``; 0 on success, 2 with a message naming the problem."""
    out = Path(args.out)
    from transynth.data.imageio import IMAGE_EXTENSIONS

    if out.suffix.lower() not in IMAGE_EXTENSIONS:
        print(
            f"transynth: error: --out {out} needs an image extension (.png, .jpg, ...)",
            file=sys.stderr,
        )
        return 2
    try:
        from .api import recompose

        result = recompose(
            args.input,
            args.reference,
            method=args.method,
            fill=args.fill,
            max_objects=args.objects,
            max_side=args.max_side,
            output_max_side=args.output_max_side,
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        result.image.save(out)
        summary = result.summary()
        summary.update(input=str(args.input), reference=str(args.reference), out=str(out))
        if not args.no_figure:
            summary["figure"] = str(result.save_figure(figure_path(out)))
        out.with_suffix(".json").write_text(json.dumps(summary, indent=2))
    except (FileNotFoundError, ValueError, OSError) as err:
        print(f"transynth: error: {err}", file=sys.stderr)
        return 2
    s = result.scores
    print(
        f"recomposed {args.input} after {args.reference}: {len(result.placements)} object(s) "
        f"moved, layout distance {s['layout_distance_before']:.3f} -> "
        f"{s['layout_distance_after']:.3f}, rule of thirds {s['thirds_input']:.3f} -> "
        f"{s['thirds_result']:.3f}; wrote {out}"
    )
    for note in result.notes:
        print(f"note: {note}")
    return 0
