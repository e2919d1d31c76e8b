"""Tiny trainings launched by test_distributed.py under torchrun (or directly, as 1 process).

Modes:
- plain: train a tiny CycleGAN (image pool off: no per-process randomness) to `steps`.
- restarts: 3 starts of 1 step each, scored by a sum of G_AB's weights (differs by seed).
- states: average gradients rank + 1 (OUT/averaged-rank<r>.safetensors), then train tiny
  CycleGAN and UNIT (batch norm) runs to `steps` and write every rank's full training state
  (weights, buffers, optimizer state) to OUT/<run>/rank<r>.safetensors; the CycleGAN run once
  straight and once stopped at step 1 then resumed from its checkpoint by a new Trainer.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
from conftest import make_task, replace_evaluation, tiny_overrides  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

from transynth.config import resolve_config  # noqa: E402
from transynth.registry import get_model_class  # noqa: E402
from transynth.training import Trainer, distributed  # noqa: E402
from transynth.training.restarts import fit_with_restarts  # noqa: E402

RESTARTS = {"restarts": 3, "restart_steps": 1, "restart_metric": "score"}


def _score(model, task, **kwargs):
    return {"score": float(next(model.G_AB.parameters()).sum())}


def _config(method: str, pool: bool = False, **train):
    overrides = tiny_overrides(method, **train)
    if method == "cyclegan" and not pool:
        overrides["model"]["pool_size"] = 0  # no per-process randomness: runs are comparable
    return resolve_config(method, overrides=overrides)


def _trainer(method: str, out: str, pool: bool = False, **train) -> Trainer:
    kind = get_model_class(method).capabilities.data_kinds[0]
    return Trainer(_config(method, pool, **train), out, task=make_task(kind))


def _save_rank_state(trainer: Trainer, out: str) -> None:
    """Everything a rank would carry into its next step, in one file per rank."""
    tensors = {f"model/{k}": v for k, v in trainer.model.state_dict().items()}
    tensors.update({f"extra/{k}": v for k, v in trainer.model.extra_state().items()})
    tensors["rng/torch"] = torch.get_rng_state()
    for phase, opt in trainer.optimizers.items():
        for i, state in opt.state_dict()["state"].items():
            for key, value in state.items():
                tensors[f"opt/{phase}/{i}/{key}"] = torch.as_tensor(value)
    rank = int(os.environ.get("RANK", "0"))
    save_file(
        {k: v.detach().cpu().contiguous() for k, v in tensors.items()},
        os.path.join(out, f"rank{rank}.safetensors"),
    )


def averaged_gradients(out: str) -> None:
    """average_gradients on gradients rank + 1 (and one parameter without a gradient)."""
    rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
    params = [torch.nn.Parameter(torch.zeros(3, 2)), torch.nn.Parameter(torch.zeros(5))]
    for p in params:
        p.grad = torch.full_like(p, float(rank + 1))
    frozen = torch.nn.Parameter(torch.zeros(2))
    distributed.average_gradients([*params, frozen], world)
    assert frozen.grad is None
    grads = {f"grad{i}": p.grad for i, p in enumerate(params)}
    save_file(grads, os.path.join(out, f"averaged-rank{rank}.safetensors"))


def states(out: str, batch_size: int, steps: int) -> None:
    # One process group for the several runs of this launch (a finished fit() would destroy it).
    distributed.cleanup = lambda info: None
    distributed.init_distributed("cpu")
    averaged_gradients(out)
    for method in ("cyclegan", "unit"):
        trainer = _trainer(method, os.path.join(out, method), steps=steps, batch_size=batch_size)
        trainer.fit()
        _save_rank_state(trainer, os.path.join(out, method))
    for pool, name in ((False, "cyclegan"), (True, "cyclegan-pool")):
        if pool:  # with image pools: each rank draws its own random numbers
            trainer = _trainer(
                "cyclegan", os.path.join(out, name), pool, steps=steps, batch_size=batch_size
            )
            trainer.fit()
            _save_rank_state(trainer, os.path.join(out, name))
        resumed_dir = os.path.join(out, f"{name}-resumed")
        _trainer("cyclegan", resumed_dir, pool, steps=steps, batch_size=batch_size).fit(until=1)
        resumed = _trainer("cyclegan", resumed_dir, pool, steps=steps, batch_size=batch_size)
        assert resumed.step == 1, resumed.step
        resumed.fit()
        _save_rank_state(resumed, resumed_dir)
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def main(out: str, batch_size: int, steps: int, mode: str = "plain") -> None:
    if mode == "states":
        states(out, batch_size, steps)
    elif mode == "restarts":
        replace_evaluation(_score)
        cfg = _config("cyclegan", steps=steps, batch_size=batch_size, **RESTARTS)
        fit_with_restarts(cfg, out, task=make_task("unpaired"))
    else:
        _trainer("cyclegan", out, steps=steps, batch_size=batch_size).fit()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), *sys.argv[4:])
