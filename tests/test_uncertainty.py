"""Sampling intervals of accuracies and the spread of benchmark figures over seeds."""

from __future__ import annotations

import math

import pytest

from transynth.eval.uncertainty import (
    accuracy_interval,
    count_for,
    seed_of,
    summarize_seeds,
    wilson_interval,
)


def test_wilson_interval_matches_the_closed_form_at_known_points():
    low, high = wilson_interval(0.5, 100)
    assert (low, high) == pytest.approx((0.4038, 0.5962), abs=1e-4)
    # At 0 and 1 the interval is one-sided and not empty: z^2 / (n + z^2) from the edge.
    edge = 1.96**2 / (100 + 1.96**2)
    assert wilson_interval(0.0, 100) == pytest.approx((0.0, edge))
    assert wilson_interval(1.0, 100) == pytest.approx((1 - edge, 1.0))
    # More images, a narrower interval around the same accuracy.
    narrow = wilson_interval(0.7, 1000)
    wide = wilson_interval(0.7, 359)
    assert narrow[1] - narrow[0] < wide[1] - wide[0] and wide[0] < 0.7 < wide[1]


@pytest.mark.parametrize(("accuracy", "n"), [(0.5, 0), (1.2, 10), (-0.1, 10)])
def test_wilson_interval_rejects_impossible_input(accuracy, n):
    with pytest.raises(ValueError, match="n=0|in \\[0, 1\\]"):
        wilson_interval(accuracy, n)


def test_counts_are_found_beside_the_metric_or_in_an_enclosing_prefix():
    metrics = {
        "AtoB/translation_accuracy": 0.7,
        "AtoB/num_images": 359.0,
        "BtoA/translation_accuracy": 0.8,
        "raw/c1/code_accuracy": 0.9,
        "num_generated": 1000.0,
        "source_only/target_test_accuracy": 0.6,
        "source_only/num_target_test": 359.0,
        "fid": 2.0,
    }
    assert count_for("AtoB/translation_accuracy", metrics) == 359
    assert count_for("BtoA/translation_accuracy", metrics) is None  # no BtoA/num_images
    assert count_for("raw/c1/code_accuracy", metrics) == 1000
    assert count_for("source_only/target_test_accuracy", metrics) == 359
    assert count_for("fid", metrics) is None  # not an accuracy
    assert accuracy_interval("AtoB/translation_accuracy", metrics) == wilson_interval(0.7, 359)
    assert accuracy_interval("BtoA/translation_accuracy", metrics) is None
    assert accuracy_interval("fid", metrics) is None
    nan = {"target_test_accuracy": math.nan, "num_target_test": 10.0}
    assert accuracy_interval("target_test_accuracy", nan) is None


def test_seed_names_split_into_base_and_seed():
    assert seed_of("infogan-mnist") == ("infogan-mnist", 0)
    assert seed_of("infogan-mnist-seed12") == ("infogan-mnist", 12)
    assert seed_of("seedless-seedy") == ("seedless-seedy", 0)


def _result(value: float, **settings) -> dict:
    base = {"method": "infogan", "task": "mnist", "preset": "cpu", "steps": 10, "batch_size": 2}
    return {
        **base,
        **settings,
        "headline": ["c1/code_accuracy", "fid"],
        "metrics": {"c1/code_accuracy": value, "fid": 1.0 + value},
    }


def test_seeds_of_one_entry_are_summarised_and_single_runs_are_not():
    table = {
        "infogan-mnist": _result(0.9),
        "infogan-mnist-seed1": _result(0.8),
        "infogan-mnist-seed2": _result(0.7),
        "acgan-mnist": _result(0.95, method="acgan"),
    }
    summary = summarize_seeds(table)
    assert list(summary) == ["infogan-mnist"]
    s = summary["infogan-mnist"]
    assert s["seeds"] == [0, 1, 2]
    acc = s["metrics"]["c1/code_accuracy"]
    assert acc["mean"] == pytest.approx(0.8)
    assert acc["std"] == pytest.approx(0.1)  # sample std (n - 1)
    assert (acc["min"], acc["max"], acc["n"]) == pytest.approx((0.7, 0.9, 3))
    assert s["metrics"]["fid"]["mean"] == pytest.approx(1.8)


def test_runs_of_one_name_with_different_settings_are_not_pooled():
    table = {"x": _result(0.9), "x-seed1": _result(0.8, steps=20)}
    summary = summarize_seeds(table)["x"]
    assert summary["metrics"] == {} and summary["seeds"] == [0, 1]
    assert len(summary["mixed"]) == 2  # the two settings, named


def test_the_benchmark_table_says_when_seeds_were_not_pooled():
    from transynth.benchmark.tables import render_markdown

    table = {"x": _result(0.9), "x-seed1": _result(0.8, steps=20)}
    for result in table.values():
        result.update(image_size=32, train_time_s=60.0)
    md = render_markdown(table)
    assert "| x | infogan | mnist | 0, 1 | not pooled: the runs differ" in md
