"""train.best_metric / train.restart_metric refuse metrics computed with held-out labels unless
train.allow_test_selection says so, and a run that opts in says so in metrics.json and its
report (transynth.eval.selection)."""

from __future__ import annotations

import json

import pytest
from conftest import replace_evaluation, task_for, tiny_config

from transynth.config import ConfigError
from transynth.eval.report import write_report
from transynth.eval.selection import held_out_label_use
from transynth.training import Trainer

#: Metric names the built-in protocols report, by whether they use held-out labels.
WITH_HELD_OUT_LABELS = [
    "AtoB/translation_accuracy",
    "BtoA/translation_accuracy_relabelled",
    "AtoB/baseline_accuracy",
    "raw/AtoB/translation_accuracy",
    "fcn_accuracy",
    "l1",
    "psnr",
    "ssim",
    "target_test_accuracy",
    "source_test_accuracy",
    "source_only/target_test_accuracy",
    "via_translation/target_test_accuracy",
    "f/target_test_accuracy",
    "target_train_accuracy_transductive",
    "c1/q_test_accuracy",
    "evaluator/mnist_test_accuracy",
    "domain_classifier/test_accuracy",
    "mnist->uci-digits/class_accuracy",
    "class_accuracy_baseline",
    "attribute_accuracy",
    "Smiling/edited_attribute_accuracy",
    "identity_l1",
]
WITHOUT = [
    "AtoB/fid",
    "raw/BtoA/kid",
    "AtoB/fid_baseline",
    "inception_fid",
    "fid_real",
    "c1/code_accuracy",
    "c1/class_of_value_3",
    "conditional_accuracy",
    "joint/mnist/conditional_accuracy",
    "joint/pair_agreement",
    "c1/q_train_mutual_information",
    "c1/q_train_balance",
    "domain_accuracy",
    "AtoB/num_images",
    "score",  # a plug-in's own metric: not classified
]


@pytest.mark.parametrize("metric", WITH_HELD_OUT_LABELS)
def test_metrics_computed_with_held_out_labels_are_recognised(metric):
    assert held_out_label_use(metric)


@pytest.mark.parametrize("metric", WITHOUT)
def test_label_free_metrics_are_not(metric):
    assert held_out_label_use(metric) is None


def config(**train):
    return tiny_config("cyclegan", steps=2, evaluate=True, **train)


@pytest.mark.parametrize(
    "train",
    [
        {"best_metric": "AtoB/translation_accuracy"},
        {"restarts": 2, "restart_steps": 1, "restart_metric": "target_test_accuracy"},
    ],
)
def test_selection_on_test_labels_is_refused_naming_key_metric_and_labels(train, tmp_path):
    key = next(k for k in train if k.endswith("metric"))
    with pytest.raises(ConfigError, match=rf"train\.{key}=.*labels.*allow_test_selection"):
        Trainer(config(**train), tmp_path, task=task_for("cyclegan"))
    assert not any(tmp_path.iterdir()), "nothing is written before the refusal"


def test_label_free_selection_is_allowed_and_not_flagged(tmp_path, monkeypatch):
    trainer = Trainer(
        config(best_metric="AtoB/fid", best_mode="min"), tmp_path, task_for("cyclegan")
    )
    replace_evaluation(lambda model, task: {"AtoB/fid": 3.0}, monkeypatch)
    trainer.fit()
    metrics = json.loads((tmp_path / "metrics.json").read_text())["metrics"]
    assert not any(k.startswith("selection/") for k in metrics)
    assert "held-out labels" not in write_report(tmp_path).read_text()


def test_opting_in_is_recorded_in_metrics_and_report(tmp_path, monkeypatch):
    cfg = config(best_metric="AtoB/translation_accuracy", allow_test_selection=True)
    trainer = Trainer(cfg, tmp_path, task=task_for("cyclegan"))
    replace_evaluation(lambda model, task: {"AtoB/translation_accuracy": 0.5}, monkeypatch)
    trainer.fit()
    metrics = json.loads((tmp_path / "metrics.json").read_text())["metrics"]
    assert metrics["selection/test_labels/best_metric"] == 1.0
    assert "allow_test_selection: true" in (tmp_path / "config.yaml").read_text()
    report = write_report(tmp_path).read_text()
    assert "Weights chosen on held-out labels" in report
    assert "train.best_metric=AtoB/translation_accuracy" in report


def test_refused_before_the_run_folder_exists(tmp_path):
    import transynth

    out = tmp_path / "run"
    with pytest.raises(ConfigError, match="allow_test_selection"):
        transynth.train(
            "cyclegan",
            out=out,
            overrides=["train.eval_every=1", "train.best_metric=AtoB/translation_accuracy"],
        )
    assert not out.exists()
