"""Adversarial objectives as pure functions of discriminator outputs.

Discriminators return raw scores; every loss is computed in float32 (outputs are upcast), so the
same code is correct under bf16/fp16 autocast.

vanilla: the original GAN with the non-saturating generator loss (Goodfellow et al. 2014);
lsgan: least squares, real -> 1, fake -> 0 (Mao et al. 2017; CycleGAN's choice);
wgan: the Wasserstein critic (Arjovsky et al. 2017), paired with weight clipping or a gradient
penalty (Gulrajani et al. 2017);
hinge: the hinge loss (Lim & Ye 2017; Miyato et al. 2018).
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F

GAN_MODES = ("vanilla", "lsgan", "wgan", "hinge")


def _check(mode: str) -> None:
    if mode not in GAN_MODES:
        raise ValueError(f"unknown gan_mode {mode!r}; accepted: {', '.join(GAN_MODES)}")


def discriminator_loss(
    mode: str, real: torch.Tensor, fake: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss on real scores, loss on fake scores); the D objective is their sum."""
    _check(mode)
    real, fake = real.float(), fake.float()
    if mode == "vanilla":
        return (
            F.binary_cross_entropy_with_logits(real, torch.ones_like(real)),
            F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)),
        )
    if mode == "lsgan":
        return F.mse_loss(real, torch.ones_like(real)), F.mse_loss(fake, torch.zeros_like(fake))
    if mode == "wgan":
        return -real.mean(), fake.mean()
    return F.relu(1.0 - real).mean(), F.relu(1.0 + fake).mean()


def generator_loss(mode: str, fake: torch.Tensor) -> torch.Tensor:
    """The generator's loss on the discriminator's scores of its outputs."""
    _check(mode)
    fake = fake.float()
    if mode == "vanilla":  # non-saturating: maximise log D(G(x))
        return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))
    if mode == "lsgan":
        return F.mse_loss(fake, torch.ones_like(fake))
    return -fake.mean()


def _eager() -> contextlib.AbstractContextManager:
    """Run networks compiled by train.compile eagerly (torch >= 2.6; no-op before)."""
    set_stance = getattr(torch.compiler, "set_stance", None)
    return set_stance("force_eager") if set_stance is not None else contextlib.nullcontext()


def gradient_penalty(
    critic: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor, target: float = 1.0
) -> torch.Tensor:
    """WGAN-GP: E[(||grad_x D(x_hat)||_2 - target)^2] at random interpolates x_hat of real and
    fake (Gulrajani et al. 2017, Eq. 3; multiply by lambda_gp = 10 outside)."""
    alpha = torch.rand(real.size(0), 1, 1, 1, device=real.device, dtype=real.dtype)
    mixed = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    with _eager():  # the penalty is differentiated twice, which compiled graphs cannot do
        scores = critic(mixed)
    (grad,) = torch.autograd.grad(scores.float().sum(), mixed, create_graph=True)
    norms = grad.flatten(1).float().norm(2, dim=1)
    return ((norms - target) ** 2).mean()
