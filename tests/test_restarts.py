"""Best of several starts (train.restarts): the choice, its record, resume, errors."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import replace_evaluation, task_for, tiny_overrides

from transynth.config import ConfigError, resolve_config
from transynth.training import Trainer
from transynth.training.checkpoint import read_checkpoint
from transynth.training.restarts import fit_with_restarts, with_seed

RESTARTS = {"steps": 4, "restarts": 3, "restart_steps": 2, "restart_metric": "score"}


def config(**train):
    return resolve_config("cyclegan", overrides=tiny_overrides("cyclegan", **{**RESTARTS, **train}))


@pytest.fixture
def scored(monkeypatch):
    """CycleGAN's evaluation replaced by a score read off G_AB's weights (differs by seed);
    returns the list of scores handed out."""
    given: list[float] = []

    def evaluate(model, task, **kwargs):
        given.append(float(next(model.G_AB.parameters()).sum()))
        return {"score": given[-1]}

    replace_evaluation(evaluate, monkeypatch)
    return given


def final_weights(run_dir):
    return read_checkpoint(run_dir / "checkpoints" / "last.safetensors")[0]


@pytest.mark.parametrize("mode", ["max", "min"])
def test_the_chosen_start_continues_exactly_as_the_plain_run_of_its_seed(mode, tmp_path, scored):
    cfg = config(restart_mode=mode, seed=5)
    task = task_for("cyclegan")
    fit_with_restarts(cfg, tmp_path / "run", task)
    record = json.loads((tmp_path / "run" / "restarts.json").read_text())
    scores = {int(s): m["score"] for s, m in record["candidates"].items()}
    assert sorted(scores) == [5, 6, 7] and len(set(scores.values())) == 3
    pick = max if mode == "max" else min
    assert record["chosen"] == pick(scores, key=scores.get)
    assert record["metric"] == "score" and record["steps"] == 2
    plain = Trainer(with_seed(cfg, record["chosen"]), tmp_path / "plain", task)
    plain.fit()
    ours, theirs = final_weights(tmp_path / "run"), final_weights(tmp_path / "plain")
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)
    saved = (tmp_path / "run" / "config.yaml").read_text()
    assert f"seed: {record['chosen']}" in saved


def test_an_interrupted_choice_resumes_without_retraining(tmp_path, scored, monkeypatch):
    task = task_for("cyclegan")
    fit_with_restarts(config(), tmp_path / "straight", task)
    straight = list(scored)
    scored.clear()
    fits = {"n": 0}
    original = Trainer.fit

    def killed_on_second_candidate(self, until=None):
        fits["n"] += 1
        if fits["n"] == 2:
            raise KeyboardInterrupt
        return original(self, until)

    monkeypatch.setattr(Trainer, "fit", killed_on_second_candidate)
    with pytest.raises(KeyboardInterrupt):
        fit_with_restarts(config(), tmp_path / "run", task)
    record = json.loads((tmp_path / "run" / "restarts.json").read_text())
    assert list(record["candidates"]) == ["0"] and "chosen" not in record
    assert scored == straight[:1]
    scored.clear()
    monkeypatch.setattr(Trainer, "fit", original)
    fit_with_restarts(config(), tmp_path / "run", task)
    assert scored == straight[1:]  # seed 0 was not trained or scored again
    a, b = final_weights(tmp_path / "straight"), final_weights(tmp_path / "run")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_other_restart_settings_on_resume_are_refused(tmp_path, scored):
    task = task_for("cyclegan")
    fit_with_restarts(config(), tmp_path, task)
    with pytest.raises(ConfigError, match="restarts.json"):
        fit_with_restarts(config(restart_steps=3), tmp_path, task)


def test_a_run_made_without_restarts_is_not_overwritten(tmp_path, scored):
    task = task_for("cyclegan")
    plain = resolve_config("cyclegan", overrides=tiny_overrides("cyclegan", steps=4))
    Trainer(plain, tmp_path, task).fit()
    before = (tmp_path / "checkpoints" / "last.safetensors").read_bytes()
    with pytest.raises(ConfigError, match="without train.restarts"):
        fit_with_restarts(config(), tmp_path, task)
    assert (tmp_path / "checkpoints" / "last.safetensors").read_bytes() == before


def test_a_metric_the_method_does_not_report_is_an_error_listing_them(tmp_path, scored):
    with pytest.raises(ConfigError, match=r"restart_metric='fid'.*score"):
        fit_with_restarts(config(restart_metric="fid"), tmp_path, task_for("cyclegan"))


@pytest.mark.parametrize(
    ("train", "key"),
    [
        ({"restart_steps": 0}, "train.restart_steps"),
        ({"restart_steps": 4}, "train.restart_steps"),
        ({"restart_metric": ""}, "train.restart_metric"),
        ({"restarts": 0}, "train.restarts"),
        ({"restart_mode": "best"}, "train.restart_mode"),
    ],
)
def test_bad_restart_settings_are_config_errors(train, key):
    with pytest.raises(ConfigError, match=key):
        config(**train)
