"""ToyNet: a throwaway paired translator, a 3x3 convolution trained with L1.

Not a paper: it exists to show (and test) that a method is one model file plus one config
folder. Registered under ``toynet`` when this module is imported (through an entry point in
the group ``transynth.methods`` or ``TRANSYNTH_METHODS=toyplugin.toynet``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from transynth.capabilities import PAIRED_ONE_WAY
from transynth.models import Method, OptimizerSpec, register_model
from transynth.models.base import columns_grid
from transynth.runconfig import check


@dataclass(frozen=True)
class ToyNetConfig:
    width: int = 8
    lr: float = 1e-3

    def __post_init__(self) -> None:
        check(self.width >= 1, "model.width", self.width, "an integer >= 1")


@register_model("toynet")
class ToyNet(Method):
    Config = ToyNetConfig
    capabilities = PAIRED_ONE_WAY
    default_task = "edges2mnist"
    network_names = ("G",)
    monitored_losses = ("g/l1",)

    def __init__(self, config: ToyNetConfig, domains, image_size: int) -> None:
        super().__init__(config, domains, image_size)
        c_in, c_out = domains[0].channels, domains[1].channels
        self.G = nn.Sequential(
            nn.Conv2d(c_in, config.width, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(config.width, c_out, 3, padding=1),
            nn.Tanh(),
        )

    def optimizers(self) -> dict[str, OptimizerSpec]:
        return {"g": OptimizerSpec(("G",), self.config.lr)}

    def phases(self, step: int) -> tuple[str, ...]:
        return ("g",)

    def step(self, phase: str, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"l1": F.l1_loss(self.G(batch["A"]).float(), batch["B"].float())}

    def translate_tensor(self, x: torch.Tensor, direction: str, **condition) -> torch.Tensor:
        return self.G(x)

    @torch.no_grad()
    def visualize(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        return columns_grid([batch["A"], self.G(batch["A"]), batch["B"]])
