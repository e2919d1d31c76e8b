"""Loss functions shared by several methods."""

from transynth.losses.adversarial import (
    GAN_MODES,
    discriminator_loss,
    generator_loss,
    gradient_penalty,
)

__all__ = ["GAN_MODES", "discriminator_loss", "generator_loss", "gradient_penalty"]
