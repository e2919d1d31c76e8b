"""An exponential moving average (EMA) of a method's weights, for evaluation and inference.

GAN iterates oscillate around an equilibrium rather than settle on it, so the weights at the last
step are a noisy sample: held-out metrics of the digit tasks swing by several points between
evaluations a few hundred steps apart. Averaging the iterates (Yazici et al., "The Unusual
Effectiveness of Averaging in GAN Training", ICLR 2019; the G_ema of Karras et al.'s ProGAN and
StyleGAN) damps the oscillation without changing training: the average is never read by a loss.

Rule (``train.ema = d``, 0 disables it): after every optimizer step that updated network ``n``,
each floating-point tensor of its state dict (weights and batch-norm running statistics) moves
to ``avg = decay * avg + (1 - decay) * current`` with ``decay = min(d, (1 + k) / (10 + k))``,
``k`` counting the updates of ``n`` so far (TensorFlow's ExponentialMovingAverage warm-up, so that
short runs do not average in their random initialisation). Integer buffers are not averaged.
Only the networks a method lists in ``Method.averaged_networks()`` are averaged (DTN leaves out
its frozen f, which g was trained against); the others are always used as they are.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator

import torch

from transynth.training.checkpoint import CheckpointError

PREFIX = "ema/"


class WeightAverage:
    """The moving averages of some of a method's networks, kept beside the live weights."""

    def __init__(self, model: torch.nn.Module, decay: float, networks: Iterable[str]) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay}")
        self.decay = decay
        nets = model.networks()
        unknown = sorted(set(networks) - set(nets))
        if unknown:
            raise ValueError(f"averaged networks {unknown} are not among {sorted(nets)}")
        self.names = tuple(networks)
        self.updates = dict.fromkeys(self.names, 0)
        self.average: dict[str, dict[str, torch.Tensor]] = {
            name: {
                key: value.detach().clone()
                for key, value in nets[name].state_dict().items()
                if value.is_floating_point()
            }
            for name in self.names
        }

    @torch.no_grad()
    def update(self, model: torch.nn.Module, updated: Iterable[str]) -> None:
        """Move the averages of the `updated` networks (those this step's optimizers changed)."""
        nets = model.networks()
        for name in set(updated) & set(self.names):
            k = self.updates[name]
            decay = min(self.decay, (1.0 + k) / (10.0 + k))
            state = nets[name].state_dict()
            for key, avg in self.average[name].items():
                avg.lerp_(state[key].detach().to(avg.dtype), 1.0 - decay)
            self.updates[name] = k + 1

    @contextlib.contextmanager
    def swapped_in(self, model: torch.nn.Module) -> Iterator[None]:
        """Within the block the model holds the averaged weights; its own are restored after."""
        nets = model.networks()
        saved = {
            name: {k: v.detach().clone() for k, v in nets[name].state_dict().items()}
            for name in self.names
        }
        try:
            for name in self.names:
                nets[name].load_state_dict({**saved[name], **self.average[name]})
            yield
        finally:
            for name in self.names:
                nets[name].load_state_dict(saved[name])

    # ---- checkpoints -----------------------------------------------------------------------
    def tensors(self) -> dict[str, torch.Tensor]:
        """Flat ``ema/<network>/<key>`` tensors for a checkpoint."""
        return {
            f"{PREFIX}{name}/{key}": value
            for name, state in self.average.items()
            for key, value in state.items()
        }

    def metadata(self) -> str:
        return json.dumps({"decay": self.decay, "updates": self.updates})

    def load(self, tensors: dict[str, torch.Tensor], metadata: str | None, source: str) -> None:
        """Restore from a checkpoint's tensors and metadata; a mismatch names `source`."""
        if metadata is None:
            raise CheckpointError(f"{source} holds no moving average of the weights (train.ema)")
        info = json.loads(metadata)
        if set(info["updates"]) != set(self.names):
            raise CheckpointError(
                f"{source} averages networks {sorted(info['updates'])}, this run {list(self.names)}"
            )
        for name, state in self.average.items():
            for key in state:
                full = f"{PREFIX}{name}/{key}"
                if full not in tensors:
                    raise CheckpointError(f"{source} has no moving average {full!r}")
                state[key] = tensors[full].to(state[key].device, state[key].dtype).clone()
        self.updates = {name: int(n) for name, n in info["updates"].items()}
