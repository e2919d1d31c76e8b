"""Label-preserving geometric augmentation for the classifiers that domain adaptation trains.

Digit domains differ mostly in framing: MNIST fits each digit into a 20x20 box keeping its
aspect, scikit-learn's UCI digits fill the whole frame and widen the narrow ones, USPS likewise
(docs/BENCHMARKS.md, "How far apart MNIST and the UCI digits are"). A classifier trained on
unjittered source digits learns that framing, so it reads the other domain badly (28% on UCI test
digits for an MNIST-trained one). :func:`geometric_jitter` draws each image's scale, aspect ratio,
rotation and shift from ranges that are SYMMETRIC around the identity (log-uniform scale in
[1/s, s], likewise the aspect), so it encodes no knowledge of which way the target domain differs.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def geometric_jitter(
    x: torch.Tensor,
    *,
    max_scale: float = 1.5,
    max_aspect: float = 1.4,
    max_rotation_deg: float = 15.0,
    max_shift: float = 0.1,
) -> torch.Tensor:
    """Each image (N, C, H, W) warped by its own random similarity-plus-aspect transform.

    Scale s ~ exp(U(-log max_scale, log max_scale)) and aspect a likewise (width scaled by
    s sqrt(a), height by s / sqrt(a)); rotation U(+-max_rotation_deg); shift U(+-max_shift) of the
    half-side in each direction. Pixels from outside the frame repeat the border (the background
    for digits). Draws from torch's global generator, so the trainer's saved RNG state makes it
    reproducible on resume. With every range at its identity value it returns ``x`` unchanged
    (up to interpolation rounding).
    """
    if max_scale < 1 or max_aspect < 1:
        raise ValueError(
            f"max_scale and max_aspect are ratios >= 1 (got {max_scale}, {max_aspect})"
        )
    n, dev = len(x), x.device
    u = torch.rand(5, n, device=dev) * 2 - 1  # U(-1, 1)
    scale = torch.exp(u[0] * math.log(max_scale))
    aspect = torch.exp(u[1] * math.log(max_aspect))
    sx, sy = scale * aspect.sqrt(), scale / aspect.sqrt()
    angle = u[2] * math.radians(max_rotation_deg)
    cos, sin = torch.cos(angle), torch.sin(angle)
    # affine_grid maps output coordinates to input ones: the inverse of "scale, then rotate".
    theta = torch.stack(
        [
            torch.stack([cos / sx, sin / sx, u[3] * max_shift], 1),
            torch.stack([-sin / sy, cos / sy, u[4] * max_shift], 1),
        ],
        1,
    )
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, padding_mode="border", align_corners=False)
