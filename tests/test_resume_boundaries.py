"""Exact resume across the schedule boundaries of the methods, and with the things that carry
state besides the weights: DTN's f -> g handover, StarGAN's n_critic = 5, DiscoGAN's GAN
curriculum, the moving average of the weights (every method) and DataLoader workers.

Each case trains straight to STEPS, and again killed in the middle of a step after the boundary
with its last checkpoint before it; the resumed run must end bit for bit where the straight one
ends: weights, buffers, optimizer state and the moving average. (Both stop with ``fit(until)``,
one step short of train.steps, so that the final report is not written: it changes nothing.)
"""

from __future__ import annotations

import pytest
import torch
from conftest import task_for, tiny_overrides

import transynth
from transynth.config import resolve_config
from transynth.training import Trainer

STEPS = 8


def _trainer(method, out, model=None, data=None, **train):
    overrides = tiny_overrides(method, model, steps=STEPS + 1, **train)
    overrides["data"] = {**overrides["data"], **(data or {})}
    return Trainer(resolve_config(method, overrides=overrides), out, task=task_for(method))


def _killed_during(trainer, monkeypatch, step: int) -> None:
    """fit() as a process killed in the first phase of `step` (steps before it completed)."""
    original = trainer.model.step

    def killed(phase, batch):
        if trainer.step >= step:
            raise KeyboardInterrupt
        return original(phase, batch)

    monkeypatch.setattr(trainer.model, "step", killed)
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(until=STEPS)
    monkeypatch.undo()


def _state(trainer) -> dict[str, torch.Tensor]:
    state = {f"model/{k}": v for k, v in trainer.model.state_dict().items()}
    for phase, opt in trainer.optimizers.items():
        for i, s in opt.state_dict()["state"].items():
            state.update({f"opt/{phase}/{i}/{k}": torch.as_tensor(v) for k, v in s.items()})
    if trainer.ema is not None:
        state.update(trainer.ema.tensors())
    return state


def assert_resume_exact(tmp_path, monkeypatch, method, *, resume_at, kill_at, **settings):
    straight = _trainer(method, tmp_path / "straight", **settings)
    straight.fit(until=STEPS)
    first = _trainer(method, tmp_path / "resumed", checkpoint_every=resume_at, **settings)
    _killed_during(first, monkeypatch, kill_at)
    resumed = _trainer(method, tmp_path / "resumed", checkpoint_every=resume_at, **settings)
    assert resumed.step == resume_at
    resumed.fit(until=STEPS)
    assert resumed.step == straight.step == STEPS
    a, b = _state(straight), _state(resumed)
    assert a.keys() == b.keys()
    differing = [k for k in a if not torch.equal(a[k], b[k])]
    assert not differing, differing
    return straight


def test_dtn_resumes_across_the_f_to_g_handover(tmp_path, monkeypatch):
    """f pre-trained for 4 steps: checkpoint at 3, killed in step 5 (the second g step)."""
    model = {"f_pretrain_steps": 4}
    trainer = assert_resume_exact(tmp_path, monkeypatch, "dtn", resume_at=3, kill_at=5, model=model)
    assert trainer.model.phases(3) == ("f",) and trainer.model.phases(4) == ("g", "d")


def test_stargan_resumes_between_generator_updates_of_n_critic_5(tmp_path, monkeypatch):
    """G every 5th step (steps 4 and 9): checkpoint at 3, killed after G's update at step 4."""
    trainer = assert_resume_exact(
        tmp_path, monkeypatch, "stargan", resume_at=3, kill_at=5, model={"n_critic": 5}
    )
    assert [len(trainer.model.phases(s)) for s in range(6)] == [1, 1, 1, 1, 2, 1]


def test_discogan_resumes_across_the_end_of_its_gan_curriculum(tmp_path, monkeypatch):
    """The reconstruction weight changes after step 4: checkpoint at 3, killed after step 4."""
    trainer = assert_resume_exact(
        tmp_path, monkeypatch, "discogan", resume_at=3, kill_at=5, model={"curriculum_steps": 4}
    )
    model = trainer.model
    assert model.recon_rate(3) != model.recon_rate(5)


# Three methods in the default suite (batch-norm buffers: unit, infogan; n_critic: stargan),
# the others with -m slow; cyclegan and dtn are also in tests/test_ema.py.
EMA_DEFAULT = ("unit", "infogan", "stargan")
EMA_METHODS = [
    m if m in EMA_DEFAULT else pytest.param(m, marks=pytest.mark.slow)
    for m in transynth.list_models()
]


@pytest.mark.parametrize("method", EMA_METHODS)
def test_the_moving_average_resumes_exactly(method, tmp_path, monkeypatch):
    trainer = assert_resume_exact(tmp_path, monkeypatch, method, resume_at=3, kill_at=5, ema=0.9)
    assert trainer.ema.updates and all(n > 0 for n in trainer.ema.updates.values())


def test_resume_with_two_dataloader_workers(tmp_path, monkeypatch):
    """Workers draw nothing from the training stream and rebuild the step's batches."""
    assert_resume_exact(
        tmp_path, monkeypatch, "cyclegan", resume_at=3, kill_at=5, data={"num_workers": 2}
    )
