"""Domain-adaptation and disentanglement protocols against known answers."""

from __future__ import annotations

import pytest
import torch
from conftest import make_task

from transynth.eval.adaptation import evaluate_domain_adaptation
from transynth.eval.disentanglement import (
    categorical_code_accuracy,
    code_clustering,
    conditional_accuracy,
    traversal_grid,
)


def oracle(images: torch.Tensor) -> torch.Tensor:
    """Reads the class written as the brightness of pixel (0, 0): logits peaked there."""
    cls = ((images[:, 0, 0, 0] + 1) * 5).round().long().clamp(0, 9)
    return torch.nn.functional.one_hot(cls, 10).float()


def render(classes: torch.Tensor) -> torch.Tensor:
    x = -torch.ones(len(classes), 1, 4, 4)
    x[:, 0, 0, 0] = classes.float() / 5 - 1
    return x


def test_conditional_accuracy_counts_recognised_requests():
    assert conditional_accuracy(render, oracle, 10, per_class=3) == 1.0
    # a generator that ignores the request and always draws a 0 is right for class 0 only
    assert conditional_accuracy(lambda y: render(torch.zeros_like(y)), oracle, 10) == pytest.approx(
        0.1
    )


def test_categorical_code_accuracy_finds_the_permutation():
    perm = torch.tensor([3, 7, 0, 1, 9, 2, 4, 8, 6, 5])
    acc, mapping = categorical_code_accuracy(lambda c: render(perm[c]), oracle, 10, 10, per_value=4)
    assert acc == 1.0 and mapping == {i: int(perm[i]) for i in range(10)}
    # two code values that draw the same class: only one can be matched to it
    merged = perm.clone()
    merged[1] = merged[0]
    acc, _ = categorical_code_accuracy(lambda c: render(merged[c]), oracle, 10, 10, per_value=4)
    assert acc == pytest.approx(0.9)


def test_code_clustering_scores_known_partitions():
    labels = torch.arange(4).repeat_interleave(24)
    perm = torch.tensor([2, 0, 3, 1])
    # a certain, evenly used code that permutes the classes: everything is 1
    exact = code_clustering(torch.nn.functional.one_hot(perm[labels], 4).float(), labels, 4)
    assert exact == pytest.approx({"balance": 1.0, "mutual_information": 1.0, "accuracy": 1.0})
    # classes 0 and 1 merged into value 0, class 2 split over values 1 and 2: shares 1/2, 1/8,
    # 1/8, 1/4 (H = 1.75 bits of 2); matched: all of class 0, 3 and half of class 2 (5/8)
    merged = torch.tensor([0, 0, 1, 3])[labels]
    merged[(labels == 2) & (torch.arange(96) % 2 == 0)] = 2
    split = code_clustering(torch.nn.functional.one_hot(merged, 4).float(), labels, 4)
    assert split["balance"] == pytest.approx(0.875) == split["mutual_information"]
    assert split["accuracy"] == pytest.approx(0.625)
    # an undecided code (uniform Q) is balanced but carries no information; no labels, no accuracy
    vague = code_clustering(torch.full((100, 4), 0.25))
    assert vague["balance"] == pytest.approx(1.0)
    assert vague["mutual_information"] == pytest.approx(0) and "accuracy" not in vague


def test_traversal_grid_rows_vary_the_code_only():
    values = torch.linspace(-1, 1, 5)

    def generate(rows, vals):
        x = torch.zeros(len(rows), 1, 2, 2)
        x[:, 0, 0, 0], x[:, 0, 1, 1] = rows.float(), vals
        return x

    grid, nrow = traversal_grid(generate, values, rows=3)
    assert nrow == 5 and grid.shape == (15, 1, 2, 2)
    assert torch.equal(grid[5:10, 0, 1, 1], values) and (grid[5:10, 0, 0, 0] == 1).all()


def test_domain_adaptation_reports_test_and_transductive_train_accuracy_separately():
    task = make_task("unpaired")
    labels_of = {}
    for split in (task.train, task.test):
        for d in (0, 1):
            x, y = split.domain_tensors(d)
            for img, lab in zip(x, y, strict=True):
                labels_of[img.sum().item()] = int(lab)

    def perfect(x):  # looks the label up: an oracle classifier
        return torch.nn.functional.one_hot(
            torch.tensor([labels_of[i.sum().item()] for i in x]), 4
        ).float()

    def constant(x):
        return torch.nn.functional.one_hot(torch.zeros(len(x), dtype=torch.long), 4).float()

    out = evaluate_domain_adaptation(perfect, perfect, task)
    counts = {
        "num_target_test": float((task.test.domain_tensors(1)[1] >= 0).sum()),
        "num_target_train": float((task.train.domain_tensors(1)[1] >= 0).sum()),
        "num_source_test": float((task.test.domain_tensors(0)[1] >= 0).sum()),
    }
    assert min(counts.values()) > 0
    assert out == {
        "target_test_accuracy": 1.0,
        "target_train_accuracy_transductive": 1.0,
        "source_test_accuracy": 1.0,
        **counts,
    }
    out = evaluate_domain_adaptation(perfect, constant, task)
    _, y = task.test.domain_tensors(1)
    assert out["target_test_accuracy"] == pytest.approx(float((y == 0).float().mean()))
    assert out["source_test_accuracy"] == 1.0


class _PixelReader:
    """A stand-in classifier that reads its answer off one pixel (value * scale)."""

    def __init__(self, pixel: tuple[int, int], scale: float, classes: int) -> None:
        self.pixel, self.scale, self.classes = pixel, scale, classes
        self.test_accuracy = 1.0

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        value = x[:, 0, self.pixel[0], self.pixel[1]] * self.scale
        return torch.nn.functional.one_hot(value.round().long(), self.classes).float()


class _SwappingStarGAN(torch.nn.Module):
    """Draws the target domain faithfully but every digit k as digit k + 1 (mod 10)."""

    def __init__(self) -> None:
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(1))  # gives the model a device
        self.labels = type("Labels", (), {"vector": staticmethod(lambda k, block: block)})()

    def G(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        y = x.clone()
        y[:, 0, 0, 0] = ((x[:, 0, 0, 0] * 10).round() + 1) % 10 / 10
        y[:, 0, 1, 1] = c.argmax(1).float()
        return y


def test_evaluate_domains_scores_domains_classes_and_relabelled_classes(monkeypatch):
    """Domain accuracy, class preservation, its do-nothing baseline and the relabelled
    diagnostic, against readers whose answers are known: a generator that renders every target
    domain but consistently draws the next digit keeps 0% of the classes and 100% after
    relabelling."""
    from types import SimpleNamespace

    from transynth.data.types import DomainInfo
    from transynth.eval import classifier as C
    from transynth.eval import multidomain as md

    def images(domain: int) -> tuple[torch.Tensor, torch.Tensor]:
        labels = torch.arange(30) % 10
        x = torch.zeros(30, 1, 4, 4)
        x[:, 0, 0, 0] = labels / 10  # the digit
        x[:, 0, 1, 1] = domain  # the style
        return x, labels

    domains = (DomainInfo("mnist", 1, 10), DomainInfo("uci-digits", 1, 10))
    test = SimpleNamespace(domain_tensors=images)
    task = SimpleNamespace(domains=domains, test=test, image_size=4)
    domain_reader, digit_reader = _PixelReader((1, 1), 1, 2), _PixelReader((0, 0), 10, 10)
    monkeypatch.setattr(md, "task_classifier", lambda task, kind, seed: (domain_reader, 0.97))
    monkeypatch.setattr(C, "get_evaluator", lambda *args, **kwargs: digit_reader)

    out = md.evaluate_domains(_SwappingStarGAN(), task)
    assert out["domain_classifier/test_accuracy"] == 0.97
    for pair in ("mnist->uci-digits", "uci-digits->mnist"):
        assert out[f"{pair}/domain_accuracy"] == 1.0
        assert out[f"{pair}/class_accuracy"] == 0.0
        assert out[f"{pair}/class_accuracy_baseline"] == 1.0
        assert out[f"{pair}/class_accuracy_relabelled"] == 1.0
    assert (out["domain_accuracy"], out["class_accuracy"]) == (1.0, 0.0)
    assert out["class_accuracy_relabelled"] == 1.0


def test_every_method_declares_known_protocols_and_figure_kinds():
    from transynth.eval import EVALUATION_PROTOCOLS, FIGURE_KINDS
    from transynth.registry import get_model_class, list_models

    for name in list_models():
        cls = get_model_class(name)
        assert cls.evaluation and set(cls.evaluation) <= set(EVALUATION_PROTOCOLS), name
        assert set(cls.figures) <= set(FIGURE_KINDS), name


def test_evaluate_routes_options_and_refuses_unknown_ones_and_protocols(monkeypatch):
    from conftest import tiny_config

    from transynth.eval import evaluate, write_figures
    from transynth.registry import get_model_class

    task = make_task("unpaired")
    model = get_model_class("dtn")(tiny_config("dtn").model, task.domains, task.image_size)
    # max_images reaches the translation protocol, which refuses a non-positive value
    with pytest.raises(ValueError, match="max_images must be positive"):
        evaluate(model, task, max_images=0)
    with pytest.raises(ValueError, match=r"takes no option per_value; accepted: .*max_images"):
        evaluate(model, task, per_value=3)
    monkeypatch.setattr(type(model), "evaluation", ("translation", "telepathy"))
    with pytest.raises(ValueError, match="unknown evaluation protocols.*telepathy"):
        evaluate(model, task)
    monkeypatch.setattr(type(model), "figures", ("mural",))
    with pytest.raises(ValueError, match="unknown figure kinds.*mural"):
        write_figures(model, task, "unused")
