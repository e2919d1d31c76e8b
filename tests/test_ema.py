"""The moving average of the weights (train.ema): its arithmetic, resume, export, evaluation."""

from __future__ import annotations

import pytest
import torch
from conftest import (
    fit_until_killed,
    replace_evaluation,
    task_for,
    tiny_overrides,
    tiny_trainer,
)
from torch import nn

import transynth
from transynth.config import resolve_config
from transynth.training import Trainer
from transynth.training.checkpoint import CheckpointError, read_checkpoint
from transynth.training.ema import WeightAverage


class Toy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
        self.b = nn.Linear(2, 1)

    def networks(self) -> dict[str, nn.Module]:
        return {"a": self.a, "b": self.b}


run = tiny_trainer


def test_average_follows_the_warmed_up_decay_and_skips_integer_buffers():
    torch.manual_seed(0)
    toy = Toy()
    ema = WeightAverage(toy, 0.9, ["a"])
    expected = toy.a[0].weight.detach().clone()
    for k in range(30):
        with torch.no_grad():
            toy.a[0].weight.add_(torch.randn_like(toy.a[0].weight))
            toy.a[1].num_batches_tracked += 1
        decay = min(0.9, (1 + k) / (10 + k))
        expected = decay * expected + (1 - decay) * toy.a[0].weight.detach()
        ema.update(toy, ["a", "b"])
    assert torch.allclose(ema.average["a"]["0.weight"], expected, atol=1e-6)
    assert "1.num_batches_tracked" not in ema.average["a"]
    assert "b" not in ema.average and ema.updates == {"a": 30}
    # a network no optimizer updated at this step keeps its average
    before = ema.average["a"]["0.weight"].clone()
    ema.update(toy, ["b"])
    assert torch.equal(ema.average["a"]["0.weight"], before)


def test_swapped_in_holds_the_average_and_restores_the_live_weights():
    torch.manual_seed(0)
    toy = Toy()
    ema = WeightAverage(toy, 0.5, ["a"])
    with torch.no_grad():
        toy.a[0].weight.mul_(3)
        toy.a[1].running_mean.add_(5.0)
        toy.a[1].num_batches_tracked += 7
    live = {k: v.clone() for k, v in toy.a.state_dict().items()}
    with ema.swapped_in(toy):
        assert torch.equal(toy.a[0].weight, ema.average["a"]["0.weight"])
        assert torch.equal(toy.a[1].running_mean, ema.average["a"]["1.running_mean"])
        assert not torch.equal(toy.a[1].running_mean, live["1.running_mean"])
        assert int(toy.a[1].num_batches_tracked) == 7  # integer buffers stay live
    for k, v in toy.a.state_dict().items():
        assert torch.equal(v, live[k]), k
    with pytest.raises(ValueError, match="not among"):
        WeightAverage(toy, 0.5, ["c"])
    with pytest.raises(ValueError, match="decay"):
        WeightAverage(toy, 1.0, ["a"])


@pytest.mark.parametrize("method", ["cyclegan", "dtn"])
def test_resume_restores_the_average_exactly(method, tmp_path, monkeypatch):
    straight = run(method, tmp_path / "a", steps=6, ema=0.9)
    straight.fit()
    first = run(method, tmp_path / "b", steps=6, checkpoint_every=3, ema=0.9)
    fit_until_killed(first, monkeypatch, completed_steps=4)
    resumed = run(method, tmp_path / "b", steps=6, ema=0.9)
    assert resumed.step == 3
    resumed.fit()
    assert straight.ema.updates == resumed.ema.updates
    a, b = straight.ema.tensors(), resumed.ema.tensors()
    assert a.keys() == b.keys() and a
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs after resume"
    if method == "dtn":  # g was trained against f itself: f is not averaged
        assert not any(k.startswith("ema/f/") for k in a)


def test_exported_weights_are_the_average_and_the_checkpoint_keeps_both(tmp_path):
    trainer = run("cyclegan", tmp_path, steps=4, ema=0.9)
    trainer.fit()
    exported, _ = read_checkpoint(tmp_path / "model.safetensors")
    last, meta = read_checkpoint(tmp_path / "checkpoints" / "last.safetensors")
    assert '"decay": 0.9' in meta["ema"]
    key = next(k for k in trainer.ema.average["G_AB"] if k.endswith("weight"))
    averaged = trainer.ema.average["G_AB"][key]
    live = trainer.model.G_AB.state_dict()[key]
    assert not torch.equal(averaged, live)
    assert torch.equal(exported[f"net/G_AB/{key}"], averaged)
    assert torch.equal(last[f"net/G_AB/{key}"], live)
    assert torch.equal(last[f"ema/G_AB/{key}"], averaged)
    model = transynth.load(tmp_path)
    assert torch.equal(model.G_AB.state_dict()[key], averaged)


def test_metrics_of_the_average_and_of_the_live_weights(tmp_path, monkeypatch):
    trainer = run("cyclegan", tmp_path, steps=2, ema=0.9)
    trainer.fit()
    seen = []

    def evaluate(model, task):
        seen.append(model.G_AB.state_dict()["model.1.weight"].clone())
        return {"score": float(len(seen))}

    replace_evaluation(evaluate, monkeypatch)
    metrics = trainer.evaluate()
    assert metrics == {"score": 1.0, "raw/score": 2.0}
    assert torch.equal(seen[0], trainer.ema.average["G_AB"]["model.1.weight"])
    assert torch.equal(seen[1], trainer.model.G_AB.state_dict()["model.1.weight"])


def test_turning_the_average_on_for_a_saved_run_is_refused(tmp_path):
    run("cyclegan", tmp_path, steps=2).fit()
    with pytest.raises(transynth.ConfigError, match="train.ema"):
        run("cyclegan", tmp_path, steps=4, ema=0.9)


def test_a_checkpoint_without_the_average_is_an_error_naming_it(tmp_path):
    trainer = run("cyclegan", tmp_path, steps=2)
    fresh = WeightAverage(trainer.model, 0.9, ["G_AB"])
    with pytest.raises(CheckpointError, match="holds no moving average"):
        fresh.load({}, None, "run/last.safetensors")


def test_bad_decay_is_a_config_error():
    with pytest.raises(transynth.ConfigError, match="train.ema"):
        resolve_config("cyclegan", overrides={"train": {"ema": 1.5}})


@pytest.mark.parametrize("metric", ["score", "raw/score"])
def test_best_weights_are_the_ones_the_best_metric_scored(metric, tmp_path, monkeypatch):
    cfg = resolve_config(
        "cyclegan",
        overrides=tiny_overrides("cyclegan", steps=2, ema=0.9, best_metric=metric, evaluate=True),
    )
    trainer = Trainer(cfg, tmp_path, task=task_for("cyclegan"))
    replace_evaluation(lambda model, task: {"score": 1.0}, monkeypatch)
    trainer.fit()
    best, _ = read_checkpoint(tmp_path / "best.safetensors")
    key = "model.1.weight"
    source = trainer.model.G_AB.state_dict() if metric.startswith("raw/") else None
    expected = source[key] if source is not None else trainer.ema.average["G_AB"][key]
    assert torch.equal(best[f"net/G_AB/{key}"], expected)


def test_a_run_saved_before_a_config_key_existed_still_resumes(tmp_path):
    import json

    from safetensors import safe_open
    from safetensors.torch import save_file

    run("cyclegan", tmp_path, steps=2, checkpoint_every=2).fit()
    path = tmp_path / "checkpoints" / "last.safetensors"
    with safe_open(str(path), framework="pt") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    config = json.loads(meta["config"])
    del config["train"]["ema"], config["model"]["lambda_cyc"]  # as an older version saved
    save_file(tensors, str(path), metadata={**meta, "config": json.dumps(config)})
    assert run("cyclegan", tmp_path, steps=4).step == 2
