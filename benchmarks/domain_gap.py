"""How far apart MNIST and the UCI digits are, and what a hand-made translation scores.

The translation and adaptation targets on ``mnist2uci`` were set with MNIST -> USPS in mind. This
measures the gap between the two embedded domains directly, with the cached evaluators that
score every translator:

- per class, the mean bounding box of the digit strokes (width and height, px at 32 px): UCI's
  preprocessing stretched each digit to fill its box in BOTH directions (a "1" is as wide as a
  "0"), MNIST's keeps the aspect ratio inside a 20x20 box;
- the target evaluator on untranslated test images (a translator's "do nothing" baseline), and
  on deterministic, hand-made "translations" that undo the framing difference:
  MNIST -> UCI: crop the strokes, resize to fill the frame (stretched or keeping the aspect),
  optionally blur through 8x8 like UCI's 4x4-block counts; UCI -> MNIST: shrink into a centred
  box keeping the aspect, with a margin of 2-6 px.

A learned translator has to do at least what these transforms do, and no transform here changes
the writers' styles (UCI's "7" is crossed, its "1" has a foot).

    OMP_NUM_THREADS=1 python benchmarks/domain_gap.py [--out docs/results/domain-gap.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
import torch.nn.functional as F

from transynth.data.domains import load_domain
from transynth.eval.classifier import get_evaluator

SIZE = 32
INK = -0.5  # a pixel is ink above this value on the [-1, 1] scale


def stroke_boxes(x: torch.Tensor) -> list[tuple[int, int, int, int]]:
    """(top, bottom, left, right) of the ink of each image (N, 1, H, W), bottom/right exclusive."""
    boxes = []
    for im in x:
        ink = im[0] > INK
        rows, cols = ink.any(1).nonzero()[:, 0], ink.any(0).nonzero()[:, 0]
        if len(rows) == 0:
            boxes.append((0, im.shape[-2], 0, im.shape[-1]))
        else:
            boxes.append((int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1))
    return boxes


def reframe(x: torch.Tensor, margin: int, keep_aspect: bool) -> torch.Tensor:
    """Each image's strokes resized to fill a centred (SIZE - 2 margin)^2 box."""
    inner = SIZE - 2 * margin
    out = torch.full((len(x), 1, SIZE, SIZE), -1.0)
    for i, (t, b, left, r) in enumerate(stroke_boxes(x)):
        h, w = b - t, r - left
        if keep_aspect:
            s = inner / max(h, w)
            nh, nw = max(1, round(h * s)), max(1, round(w * s))
        else:
            nh = nw = inner
        crop = x[i : i + 1, :, t:b, left:r]
        resized = F.interpolate(crop, size=(nh, nw), mode="bilinear", antialias=True)
        top, lft = (SIZE - nh) // 2, (SIZE - nw) // 2
        out[i, :, top : top + nh, lft : lft + nw] = resized[0]
    return out


def blur_like_uci(x: torch.Tensor) -> torch.Tensor:
    """Through 8x8 block averages and back (UCI's 4x4-block counts, bicubic upsampling)."""
    small = F.interpolate(x, size=(8, 8), mode="area")
    return F.interpolate(small, size=(SIZE, SIZE), mode="bicubic").clamp(-1, 1)


def accuracy(evaluator, x: torch.Tensor, y: torch.Tensor) -> float:
    return float((evaluator.logits(x).argmax(1) == y).double().mean())


def class_boxes(x: torch.Tensor, y: torch.Tensor) -> dict[str, list[float]]:
    """Per digit: mean ink width and height in px."""
    sizes = torch.tensor(
        [(r - left, b - t) for t, b, left, r in stroke_boxes(x)], dtype=torch.float
    )
    return {str(c): [round(float(v), 1) for v in sizes[y == c].mean(0)] for c in range(10)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()
    xm, ym = load_domain("mnist", "test", SIZE)
    xu, yu = load_domain("uci-digits", "test", SIZE)
    to_uci, to_mnist = get_evaluator("uci-digits", SIZE, 1), get_evaluator("mnist", SIZE, 1)
    results = {
        "ink_box_width_height_px": {
            "mnist": class_boxes(xm, ym),
            "uci-digits": class_boxes(xu, yu),
        },
        "mnist_to_uci": {
            "untranslated": accuracy(to_uci, xm, ym),
            "blurred through 8x8": accuracy(to_uci, blur_like_uci(xm), ym),
            "stretched to fill": accuracy(to_uci, reframe(xm, 0, False), ym),
            "stretched to fill + 8x8 blur": accuracy(
                to_uci, blur_like_uci(reframe(xm, 0, False)), ym
            ),
            "aspect kept, filling": accuracy(to_uci, reframe(xm, 0, True), ym),
            "aspect kept, filling + 8x8 blur": accuracy(
                to_uci, blur_like_uci(reframe(xm, 0, True)), ym
            ),
        },
        "uci_to_mnist": {"untranslated": accuracy(to_mnist, xu, yu)}
        | {
            f"aspect kept, margin {m} px": accuracy(to_mnist, reframe(xu, m, True), yu)
            for m in (2, 4, 6)
        },
        "evaluator_test_accuracy": {
            "mnist": to_mnist.test_accuracy,
            "uci-digits": to_uci.test_accuracy,
        },
    }
    for direction in ("mnist_to_uci", "uci_to_mnist"):
        print(direction)
        for name, value in results[direction].items():
            print(f"  {name:34s} {100 * value:5.1f}%")
    print("ink box width x height (px) per digit, mnist | uci-digits")
    for c in range(10):
        m, u = (results["ink_box_width_height_px"][d][str(c)] for d in ("mnist", "uci-digits"))
        print(f"  {c}: {m[0]:4.1f} x {m[1]:4.1f} | {u[0]:4.1f} x {u[1]:4.1f}")
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    main()
