"""What the learned affine warp (`model.warp=affine`) of a translator does to held-out images.

    OMP_NUM_THREADS=1 python benchmarks/warp_stats.py RUN [RUN ...]

For each direction of a two-domain run (A -> B with G_AB's warp, B -> A with G_BA's), over the
test images of the source domain: the mean and spread of the horizontal and vertical scale the
warp applies to the image content (1 / theta's diagonal: above 1 enlarges), the rotation and
shear (theta's off-diagonal) and the shift (fraction of the half-side). On `mnist2uci` a warp
that has learnt the framing enlarges MNIST digits toward the UCI frame and shrinks UCI digits.
"""

from __future__ import annotations

import argparse

import torch

import transynth
from transynth.data import build_task
from transynth.nn.warp import WarpedGenerator


def warp_table(model, task) -> list[str]:
    lines = ["direction  scale x (mean +- sd)  scale y (mean +- sd)  |off-diag|  |shift|"]
    for source, name in ((0, "G_AB"), (1, "G_BA")):
        generator = getattr(model, name)
        if not isinstance(generator, WarpedGenerator):
            raise SystemExit(f"{name} has no warp: train with --model.warp=affine")
        images, _ = task.test.domain_tensors(source)
        with torch.no_grad():
            theta = torch.cat([generator.warp.theta(x) for x in images.split(256)])
        sx, sy = 1 / theta[:, 0, 0], 1 / theta[:, 1, 1]
        off = torch.cat([theta[:, 0, 1], theta[:, 1, 0]]).abs().mean()
        shift = theta[:, :, 2].abs().mean()
        label = f"{task.domains[source].name} -> {task.domains[1 - source].name}"
        lines.append(
            f"{label:<10} {sx.mean():.3f} +- {sx.std():.3f}        {sy.mean():.3f} +- "
            f"{sy.std():.3f}        {off:.3f}      {shift:.3f}"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    args = parser.parse_args()
    for run in args.runs:
        model = transynth.load(run)
        data = model.run_config.data
        task = build_task(data.task, data.image_size)
        print(f"== {run} ({data.task})")
        print("\n".join(warp_table(model, task)))


if __name__ == "__main__":
    main()
