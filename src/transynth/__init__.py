"""transynth: transfer learning for visual synthesis.

Cross-domain image translation (Pix2pix, CycleGAN, ...) and representation disentanglement in
one library: ``transynth.train``, ``transynth.load(run).translate(images)`` (``.sample``,
``.evaluate``, ``.export`` to a stand-alone ``.pt2`` / ``.onnx`` graph),
``transynth.models_table()``.
"""

from transynth.api import create_model, evaluate, list_models, load, models_table, train
from transynth.config import ConfigError, RunConfig, resolve_config
from transynth.registry import register_model

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "RunConfig",
    "create_model",
    "evaluate",
    "list_models",
    "load",
    "models_table",
    "register_model",
    "resolve_config",
    "train",
]
