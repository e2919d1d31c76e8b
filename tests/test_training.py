"""The trainer: checkpoints, exact resume, divergence, schedules, speed paths, learning."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from autocast_check import assert_autocast_tracks_fp32, phase_results, reinit, round_operands
from conftest import (
    assert_gradients_close,
    fit_until_killed,
    objective_history,
    replace_evaluation,
    task_for,
    tiny_overrides,
    tiny_trainer,
)

import transynth
from transynth.config import resolve_config
from transynth.registry import get_model_class
from transynth.training import Trainer, TrainingDiverged
from transynth.training.checkpoint import CheckpointError, read_checkpoint
from transynth.training.sampler import StepBatchSampler
from transynth.training.schedule import linear_decay_factor

CKPT = "checkpoints/last.safetensors"


run = tiny_trainer


def weights(trainer):
    return {
        f"{n}.{k}": v.clone()
        for n, net in trainer.model.networks().items()
        for k, v in net.state_dict().items()
    }


def test_schedule_is_constant_then_linear():
    assert linear_decay_factor(0, 100, 0.5) == 1.0
    assert linear_decay_factor(49, 100, 0.5) == 1.0
    assert linear_decay_factor(50, 100, 0.5) == 1.0
    assert linear_decay_factor(75, 100, 0.5) == pytest.approx(0.5)
    assert linear_decay_factor(99, 100, 0.5) == pytest.approx(0.02)


def test_sampler_covers_each_domain_once_per_epoch_and_splits_ranks():
    s = StepBatchSampler((5, 3), 5, seed=1)
    first = s.indices_for(0)
    assert sorted(i.indices[0] for i in first) == list(range(5))
    ranks = [
        StepBatchSampler((10,), 2, seed=1, rank=r, world_size=2).indices_for(3) for r in (0, 1)
    ]
    single = StepBatchSampler((10,), 4, seed=1).indices_for(3)
    assert [i.indices for i in ranks[0] + ranks[1]] == [i.indices for i in single]
    resumed = StepBatchSampler((5, 3), 5, seed=1, start_step=4)
    assert next(iter(resumed)) == s.indices_for(4)


@pytest.mark.parametrize("method", transynth.list_models())
def test_resume_gives_the_same_weights_as_an_uninterrupted_run(method, tmp_path, monkeypatch):
    straight = run(method, tmp_path / "a", steps=6)
    straight.fit()
    # The same run, killed during step 5 with its last checkpoint at step 3.
    first = run(method, tmp_path / "b", steps=6, checkpoint_every=3)
    fit_until_killed(first, monkeypatch, completed_steps=4)
    resumed = run(method, tmp_path / "b", steps=6)
    assert resumed.step == 3
    resumed.fit()
    a, b = weights(straight), weights(resumed)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs after resume"
    # the optimizer state (Adam moments, RMSprop averages, step counts) must match too
    for phase in straight.optimizers:
        sa = straight.optimizers[phase].state_dict()["state"]
        sb = resumed.optimizers[phase].state_dict()["state"]
        assert sa.keys() == sb.keys()
        for i in sa:
            for key, value in sa[i].items():
                assert torch.equal(torch.as_tensor(value), torch.as_tensor(sb[i][key])), (
                    phase,
                    i,
                    key,
                )
    steps = [
        json.loads(line)["step"] for line in (tmp_path / "b" / "log.jsonl").read_text().splitlines()
    ]
    assert steps == list(range(1, 7)), "the log holds each step once after a resume"


def test_resume_with_a_different_config_is_refused(tmp_path):
    run("cyclegan", tmp_path, steps=2).fit()
    cfg = resolve_config(
        "cyclegan",
        overrides={
            **tiny_overrides("cyclegan", steps=4),
            "model": {"ngf": 8, "n_blocks": 1, "d_layers": 1},
        },
    )
    with pytest.raises(transynth.ConfigError, match="model.ngf"):
        Trainer(cfg, tmp_path, task=task_for("cyclegan"))


def test_resume_check_treats_tuples_and_their_json_lists_as_equal():
    from transynth.training.setup import _flatten

    assert _flatten({"model": {"widths": (1, 2)}}) == _flatten({"model": {"widths": [1, 2]}})
    assert _flatten({"model": {"widths": (1, 2)}}) != _flatten({"model": {"widths": [1, 3]}})


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    trainer = run("pix2pix", tmp_path, steps=6, checkpoint_every=2)
    original = trainer.model.step
    calls = {"n": 0}

    def poisoned(phase, batch):
        calls["n"] += 1
        losses = original(phase, batch)
        if calls["n"] > 6:  # after 3 steps of (g, d)
            losses["l1" if phase == "g" else "real"] = losses.get("l1", losses.get("real")) * float(
                "nan"
            )
        return losses

    monkeypatch.setattr(trainer.model, "step", poisoned)
    with pytest.raises(TrainingDiverged, match="non-finite"):
        trainer.fit()
    _, meta = read_checkpoint(tmp_path / CKPT)
    assert meta["step"] == "2"
    tensors, _ = read_checkpoint(tmp_path / CKPT)
    assert all(torch.isfinite(v).all() for k, v in tensors.items() if v.is_floating_point())


def test_crash_during_checkpoint_write_keeps_the_previous_one(tmp_path, monkeypatch):
    trainer = run("cyclegan", tmp_path, steps=2)
    trainer.fit()
    before = (tmp_path / CKPT).read_bytes()
    import transynth.training.checkpoint as ck

    def crash(tensors, path, metadata=None):
        with open(path, "wb") as f:
            f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(ck, "save_file", crash)
    with pytest.raises(OSError, match="disk full"):
        trainer.save()
    assert (tmp_path / CKPT).read_bytes() == before
    assert not [p for p in (tmp_path / "checkpoints").iterdir() if p.name.endswith(".tmp")]


def test_corrupt_checkpoint_is_reported_by_name(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 20)
    with pytest.raises(CheckpointError, match="bad.safetensors"):
        transynth.load(bad)


def test_load_restores_the_trained_weights(tmp_path):
    trainer = run("cyclegan", tmp_path, steps=2)
    trainer.fit()
    model = transynth.load(tmp_path)
    x = torch.rand(2, 1, 16, 16) * 2 - 1
    trainer.model.eval()
    with torch.no_grad():
        assert torch.allclose(model.translate(x), trainer.model.G_AB(x))
    assert model.trained_steps == 2


# The learning test watches generator terms: classifier terms (the models' own
# monitored_losses of acgan and cdrd: d/cls_real, src/cls_S) fall on 2 images for any classifier.
GENERATOR_TERMS = {"acgan": ("g/cls",), "cdrd": ("g/cls_fake_S", "g/cls_fake_T")}
# Measured: CDRD's generator class terms stay at log 4 (chance) over 40 steps here, and samples
# conditioned on a class show it no more often than chance (the quadrant oracle of
# tests/oracles.py) after 800 steps at batch 16 either. Strict: a fix makes this test fail.
LEARNING = [
    pytest.param(
        m,
        marks=pytest.mark.xfail(
            strict=True, reason="CDRD's tiny generator does not learn attribute control"
        ),
    )
    if m == "cdrd"
    else m
    for m in transynth.list_models()
]


@pytest.mark.parametrize("method", LEARNING)
def test_training_reduces_the_objective(method):
    """A learning test: the generator's reconstruction (or class) terms fall within a few dozen
    steps."""
    torch.manual_seed(0)
    # tiny networks: a larger step than the paper's to see it in 40
    trainer = tiny_trainer(method, "unused", model={"lr": 2e-3}, steps=40)
    if method in GENERATOR_TERMS:
        trainer.model.monitored_losses = GENERATOR_TERMS[method]
    assert all(k.startswith("g/") for k in trainer.model.monitored_losses) or method == "ecdrd"
    history = objective_history(trainer, 40)
    assert sum(history[-5:]) / 5 < 0.6 * sum(history[:5]) / 5, history


@pytest.mark.parametrize("method", transynth.list_models())
@pytest.mark.filterwarnings("ignore:train.amp=bf16 on a CPU without")  # correctness, not speed
def test_bf16_autocast_tracks_fp32(method):
    """The bf16 speed path computes the losses and gradients of fp32 in every phase (gradient
    penalties included) within bf16 precision; the reference really runs in fp32 (amp=none, not
    the preset's auto, which is bf16 on AMX CPUs) and the other run really in bf16."""
    task = task_for(method)
    fp32 = run(method, "a", task=task, amp="none")
    bf16 = run(method, "b", task=task, amp="bf16")
    rounded = run(method, "c", task=task, amp="none")
    for trainer in (fp32, bf16, rounded):
        reinit(trainer.model)
    round_operands(rounded, torch.bfloat16)
    batch = fp32._to_device(next(iter(fp32._loader())))
    assert_autocast_tracks_fp32(
        phase_results(fp32, batch),
        phase_results(bf16, batch),
        phase_results(rounded, batch, round_to=torch.bfloat16),
        torch.bfloat16,
    )


def _phase_result(trainer, phase: str) -> tuple[dict, dict]:
    """Losses and gradients of one phase on the trainer's first batch, from a fixed seed."""
    batch = trainer._to_device(next(iter(trainer._loader())))
    torch.manual_seed(3)
    trainer._set_trainable(phase)
    losses = trainer.model.step(phase, batch)
    sum(losses.values()).backward()
    grads = {n: p.grad.clone() for n, p in trainer.model.named_parameters() if p.grad is not None}
    return {k: v.detach() for k, v in losses.items()}, grads


# Compiling takes about a minute per method on 2 CPU cores: one method in the default suite;
# stargan's gradient penalty (a double backward, which compiled graphs lack) runs eagerly.
SLOW_COMPILE = [pytest.param(m, marks=pytest.mark.slow) for m in ("cyclegan", "stargan")]


@pytest.mark.skipif(
    shutil.which("c++") is None and shutil.which("g++") is None,
    reason="torch.compile on CPU builds C++ kernels: no C++ compiler here",
)
@pytest.mark.parametrize("method", ["infogan", *SLOW_COMPILE])
def test_compile_matches_eager_fp32(method, tmp_path):
    """train.compile computes the losses and gradients of eager fp32 (both phases), and what it
    trains and saves loads into an eager model under the same names."""
    task = task_for(method)
    eager = run(method, tmp_path / "a", task=task, steps=2)
    compiled = run(method, tmp_path / "b", task=task, steps=2, compile=True)
    assert compiled.model.state_dict().keys() == eager.model.state_dict().keys()
    for phase in eager.model.phases(0):
        (la, ga), (lb, gb) = _phase_result(eager, phase), _phase_result(compiled, phase)
        assert la.keys() == lb.keys() and ga.keys() == gb.keys()
        for k in la:
            torch.testing.assert_close(lb[k], la[k], rtol=1e-4, atol=1e-5)
        assert_gradients_close(ga, gb)
    compiled.fit()
    reloaded = transynth.load(tmp_path / "b")
    assert reloaded.trained_steps == 2


@pytest.mark.parametrize("batch_size", [1, 2])
@pytest.mark.parametrize("method", transynth.list_models())
def test_channels_last_matches_fp32_gradients(method, batch_size):
    """channels_last must give the same gradients as the default layout, batch 1 included (an
    eager channels_last InstanceNorm bug on some torch builds corrupts input gradients there)."""
    task = task_for(method)
    grads = []
    cfg = resolve_config(method, overrides=tiny_overrides(method))
    instance_norm = any(
        isinstance(m, torch.nn.InstanceNorm2d)
        for m in get_model_class(method)(cfg.model, task.domains, task.image_size).modules()
    )
    for cl in (False, True):
        if cl and batch_size == 1 and instance_norm:  # refused by the trainer, not wrong
            with pytest.raises(transynth.ConfigError, match="wrong gradients"):
                run(method, "x", task=task, channels_last=cl, batch_size=batch_size)
            return
        overrides = tiny_overrides(method, channels_last=cl, batch_size=batch_size)
        overrides["model"]["dropout"] = 0.0  # dropout masks are drawn in memory order: differ
        trainer = Trainer(resolve_config(method, overrides=overrides), "x", task=task)
        batch = trainer._to_device(next(iter(trainer._loader())))
        torch.manual_seed(3)
        trainer._set_trainable("g")
        total = sum(trainer.model.step("g", batch).values())
        total.backward()
        grads.append(
            {n: p.grad.clone() for n, p in trainer.model.named_parameters() if p.grad is not None}
        )
    assert_gradients_close(grads[0], grads[1])


def test_periodic_evaluation_keeps_the_best_weights_and_leaves_training_unchanged(
    tmp_path, monkeypatch
):
    plain = run("cyclegan", tmp_path / "plain", steps=6)
    plain.fit()
    scores = iter([0.2, 0.7, 0.5])  # at steps 2 and 4, then the final evaluation at 6

    def fake_evaluate(model, task):
        torch.rand(100)  # consumes randomness, as training an evaluator would
        return {"AtoB/translation_accuracy": next(scores)}

    evaluated = run(
        "cyclegan",
        tmp_path / "eval",
        steps=6,
        eval_every=2,
        evaluate=True,
        best_metric="AtoB/translation_accuracy",
        allow_test_selection=True,  # a test-label metric (tests/test_selection.py)
    )
    replace_evaluation(fake_evaluate, monkeypatch)
    evaluated.fit()
    best = json.loads((tmp_path / "eval" / "best.json").read_text())
    assert best == {"step": 4, "metric": "AtoB/translation_accuracy", "value": 0.7}
    assert transynth.load(tmp_path / "eval", checkpoint="best").trained_steps == 4
    logged = [json.loads(x) for x in (tmp_path / "eval" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in logged if "eval/AtoB/translation_accuracy" in r] == [2, 4]
    a, b = weights(plain), weights(evaluated)
    assert all(torch.equal(a[k], b[k]) for k in a), "evaluation changed the training run"


def test_unknown_best_metric_is_an_error_listing_the_metrics(tmp_path, monkeypatch):
    trainer = run("cyclegan", tmp_path, steps=2, evaluate=True, best_metric="fid")
    replace_evaluation(lambda model, task: {"AtoB/kid": 0.1}, monkeypatch)
    with pytest.raises(transynth.ConfigError, match="AtoB/kid"):
        trainer.fit()
