"""Every built-in method; importing this package registers them."""

from transynth.models import cyclegan, discogan, dualgan, pix2pix  # noqa: F401
from transynth.models.base import Method, OptimizerSpec

__all__ = ["Method", "OptimizerSpec"]
