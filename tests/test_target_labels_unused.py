"""The domain-adaptation methods never train on target labels (the unsupervised protocol).

CDRD, E-CDRD, DTN and UNIT see the target domain B with its labels in every batch
(``label_B``), since the unpaired loaders carry them for evaluation. Replacing those labels by
a permutation or by -1 (unknown) must leave every phase's losses and gradients, and a short
training run's weights, bit for bit unchanged.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
from conftest import TensorSplit, task_for, tiny_trainer

METHODS = ["cdrd", "ecdrd", "dtn", "unit"]
# dtn: f pre-trained for the first 2 steps, so that its f phase is among the phases checked
MODEL = {"dtn": {"f_pretrain_steps": 2}}


def _relabelled(labels: torch.Tensor, how: str) -> torch.Tensor:
    if how == "unknown":
        return torch.full_like(labels, -1)
    permuted = labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(5))]
    assert not torch.equal(permuted, labels)
    return permuted


def _phase_results(trainer, batch: dict) -> dict:
    """Every phase's losses and gradients on `batch`, each phase from the same seed."""
    results = {}
    for phase in trainer.model.optimizers():
        trainer._set_trainable(phase)
        trainer.model.zero_grad(set_to_none=True)
        torch.manual_seed(3)
        losses = trainer.model.step(phase, dict(batch))
        sum(losses.values()).backward()
        grads = {
            n: p.grad.clone() for n, p in trainer.model.named_parameters() if p.grad is not None
        }
        results[phase] = ({k: v.detach() for k, v in losses.items()}, grads)
    return results


@pytest.mark.parametrize("how", ["permuted", "unknown"])
@pytest.mark.parametrize("method", METHODS)
def test_target_labels_change_no_loss_and_no_gradient(method, how):
    task = task_for(method)
    results = []
    for relabel in (False, True):
        trainer = tiny_trainer(method, "unused", task=task, model=MODEL.get(method))
        batch = trainer._to_device(next(iter(trainer._loader())))
        if relabel:
            batch["label_B"] = _relabelled(batch["label_B"], how)
        results.append(_phase_results(trainer, batch))
    reference, relabelled = results
    if method == "dtn":
        assert "f" in reference
    assert reference.keys() == relabelled.keys()
    for phase, (losses, grads) in reference.items():
        other_losses, other_grads = relabelled[phase]
        assert losses.keys() == other_losses.keys() and grads.keys() == other_grads.keys()
        assert grads, phase
        for k in losses:
            assert torch.equal(losses[k], other_losses[k]), (phase, k)
        for n in grads:
            assert torch.equal(grads[n], other_grads[n]), (phase, n)


@pytest.mark.parametrize("method", METHODS)
def test_three_steps_with_permuted_target_labels_train_the_same_weights(method, tmp_path):
    task = task_for(method)
    train = task.train
    assert isinstance(train, TensorSplit) and not train.paired
    permuted = dataclasses.replace(
        task, train=TensorSplit(train.a, train.b, train.la, _relabelled(train.lb, "p"), False)
    )
    weights = []
    for name, t in (("plain", task), ("permuted", permuted)):
        trainer = tiny_trainer(method, tmp_path / name, task=t, model=MODEL.get(method), steps=4)
        trainer.fit(until=3)  # 3 steps, without the final sample grid and report
        weights.append(trainer.model.state_dict())
    assert weights[0].keys() == weights[1].keys()
    for k in weights[0]:
        assert torch.equal(weights[0][k], weights[1][k]), k
