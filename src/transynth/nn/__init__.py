"""Building blocks shared by several methods: generators, discriminators, norms, init, pool."""

from transynth.nn.discriminators import PatchDiscriminator
from transynth.nn.generators import ResnetGenerator, UnetGenerator
from transynth.nn.init import init_weights
from transynth.nn.norm import norm_layer
from transynth.nn.pool import ImagePool

__all__ = [
    "ImagePool",
    "PatchDiscriminator",
    "ResnetGenerator",
    "UnetGenerator",
    "init_weights",
    "norm_layer",
]
