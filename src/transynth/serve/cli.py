"""The `transynth serve` subcommand: its arguments and the call of `transynth.serve.serve`."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add `serve` to the subcommands of the `transynth` parser."""
    p = sub.add_parser("serve", help="a local web app to translate and sample with trained runs")
    p.add_argument("runs_dir", help="folder holding run folders (searched 4 levels deep)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: localhost only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--max-upload-mb", type=float, default=32, help="largest upload accepted")
    p.add_argument(
        "--max-pixels", type=int, default=64_000_000, help="largest image accepted (pixels)"
    )


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; FileNotFoundError naming the extra when it is not installed."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as err:
        raise FileNotFoundError(
            f"transynth serve needs the serve extra ({err}): pip install 'transynth[serve]'"
        ) from None
    from transynth.serve.app import Limits, serve

    if args.max_upload_mb <= 0 or args.max_pixels <= 0:
        raise ValueError("--max-upload-mb and --max-pixels must be positive")
    limits = Limits(
        max_upload_bytes=int(args.max_upload_mb * 1024 * 1024), max_pixels=args.max_pixels
    )
    serve(args.runs_dir, host=args.host, port=args.port, limits=limits)
    return 0
