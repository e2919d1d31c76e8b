"""The README's real-image figure: held-out inputs | translations | ground truth of trained runs.

Usage:
    python benchmarks/real_figure.py RUN [RUN ...] --out docs/real/figure.png [--rows 4]

Each run is loaded (``transynth.load``), its task rebuilt from its config, and
``transynth.eval.gt_figure.ground_truth_grid`` drawn for it (the grid `report.html` shows); the
grids are stacked side by side, one column block per run, and a caption file beside the PNG names
the runs in order.
"""

from __future__ import annotations

import argparse
import pathlib

import torch

import transynth
from transynth.data import save_grid
from transynth.eval.gt_figure import ground_truth_grid
from transynth.training.setup import task_of


def run_grid(run: str, rows: int) -> tuple[torch.Tensor, str]:
    """(rows x 3 images in row order, caption) of one run."""
    model = transynth.load(run)
    task = task_of(model.run_config)
    made = ground_truth_grid(model, task, rows=rows)
    if made is None:
        raise SystemExit(f"{run}: its task {task.name!r} has no ground truth to show")
    images, _, caption = made
    return images, f"{model.run_config.method} on {task.name}: {caption}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--out", required=True)
    parser.add_argument("--rows", type=int, default=4)
    args = parser.parse_args()
    blocks, captions = [], []
    for run in args.runs:
        images, caption = run_grid(run, args.rows)
        blocks.append(images.view(-1, 3, *images.shape[1:]))
        captions.append(caption)
    rows = min(len(b) for b in blocks)
    channels = max(b.shape[2] for b in blocks)
    side = blocks[0].shape[-1]
    tiles = []
    for r in range(rows):
        for b in blocks:
            tile = b[r].expand(-1, channels, -1, -1) if b.shape[2] != channels else b[r]
            tiles.append(torch.nn.functional.interpolate(tile, size=(side, side), mode="bilinear"))
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_grid(torch.cat(tiles), out, nrow=3 * len(blocks))
    out.with_suffix(".txt").write_text("\n".join(captions) + "\n")
    print(f"wrote {out} ({rows} rows; {len(blocks)} runs)")


if __name__ == "__main__":
    main()
