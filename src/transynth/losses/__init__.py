"""Loss functions shared by several methods."""

from transynth.losses.adversarial import (
    GAN_MODES,
    discriminator_loss,
    generator_loss,
    gradient_penalty,
)
from transynth.losses.classification import labelled_cross_entropy

__all__ = [
    "GAN_MODES",
    "discriminator_loss",
    "generator_loss",
    "gradient_penalty",
    "labelled_cross_entropy",
]
