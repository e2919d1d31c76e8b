"""Evaluation protocols of methods that generate from noise, labels or codes.

- ``codes`` (InfoGAN): each categorical code used as a classifier of its own samples (Hungarian
  matched), and read back by Q from real images (:func:`~transynth.eval.disentanglement.
  code_clustering`);
- ``conditional`` (AC-GAN): how often the evaluator recognises the requested class;
- ``generation`` (InfoGAN, AC-GAN): FID/KID of samples from the prior (see
  :mod:`transynth.eval.generation`);
- ``joint`` (CDRD): the jointly generated pairs judged in each domain.

Each takes the :class:`~transynth.eval.protocols.EvaluationRun` of the call; ``codes``,
``conditional`` and ``generation`` share its evaluator and its random stream, so their samples are
drawn in the order the method declares them. Without an evaluator for the domain they report
nothing.
"""

from __future__ import annotations

from typing import Any

import torch

from transynth.eval import classifier
from transynth.eval import generation as gen_scores
from transynth.eval.disentanglement import (
    categorical_code_accuracy,
    code_clustering,
    conditional_accuracy,
)
from transynth.eval.translation import evaluator_domain_for
from transynth.nn.inference import evaluating

__all__ = ["code_accuracy", "codes", "conditional", "generation", "joint"]


def _evaluator_metric(ev: Any) -> dict[str, float]:
    return {f"evaluator/{ev.domain}_test_accuracy": float(ev.test_accuracy)}


def code_accuracy(
    model: Any, evaluator: Any, per_value: int, rng: torch.Generator
) -> dict[str, tuple[float, dict[int, int]]]:
    """{categorical code: (matched accuracy, {value: class})}: the evaluator labels
    `per_value` samples per value of each code (``model.samples_with_code``)."""
    out = {}
    for k in model.cat_codes:

        def generate(values: torch.Tensor, name: str = k.name) -> torch.Tensor:
            return model.samples_with_code(name, values, rng)

        out[k.name] = categorical_code_accuracy(
            generate, evaluator.logits, k.values, evaluator.num_classes, per_value
        )
    return out


def codes(
    run: Any,
    *,
    per_value: int = 100,
    max_real: int | None = None,
    evaluator_domain: dict[str, str | None] | None = None,
    seed: int = 0,
) -> dict[str, float]:
    """``{code}/code_accuracy`` and ``{code}/class_of_value_{v}`` (the matching); the code read
    back by Q (``code_probabilities``) from real images: ``{code}/q_test_accuracy`` (matched to
    the test labels) and, on the training images without their labels,
    ``{code}/q_train_balance`` and ``{code}/q_train_mutual_information``, by which a run
    (``train.restarts``) or a checkpoint (``train.best_metric``) can be chosen without labels."""
    model, task = run.model, run.task
    ev = run.evaluator(evaluator_domain)
    if ev is None:
        return {}
    results = _evaluator_metric(ev)
    for name, (acc, match) in code_accuracy(model, ev, per_value, run.rng(seed)).items():
        results[f"{name}/code_accuracy"] = acc
        for value, cls in sorted(match.items()):
            results[f"{name}/class_of_value_{value}"] = float(cls)
    real, labels = task.test.domain_tensors(0)
    if max_real is not None:
        real, labels = real[:max_real], labels[:max_real]
    if bool((labels >= 0).all()):  # -1: an unlabelled image
        for name, probs in model.code_probabilities(real).items():
            acc = code_clustering(probs, labels, ev.num_classes)["accuracy"]
            results[f"{name}/q_test_accuracy"] = acc
    # without labels, on the training images: fit for choosing a run or a checkpoint
    train_images = task.train.domain_tensors(0)[0][: max_real or None]
    for name, probs in model.code_probabilities(train_images).items():
        for key, value in code_clustering(probs).items():
            results[f"{name}/q_train_{key}"] = value
    return results


def conditional(
    run: Any,
    *,
    per_class: int = 100,
    evaluator_domain: dict[str, str | None] | None = None,
    seed: int = 0,
) -> dict[str, float]:
    """``conditional_accuracy``: how often the evaluator recognises the requested class in
    ``per_class`` samples per class (``model.class_samples``); only when the evaluator knows as
    many classes as the model."""
    model = run.model
    ev = run.evaluator(evaluator_domain)
    if ev is None:
        return {}
    results = _evaluator_metric(ev)
    rng = run.rng(seed)
    if ev.num_classes == model.num_classes:
        results["conditional_accuracy"] = conditional_accuracy(
            lambda labels: model.class_samples(labels, rng),
            ev.logits,
            model.num_classes,
            per_class,
        )
    return results


def generation(
    run: Any,
    *,
    num_samples: int = 1000,
    max_real: int | None = None,
    evaluator_domain: dict[str, str | None] | None = None,
    seed: int = 0,
) -> dict[str, float]:
    """``fid``/``kid`` of ``num_samples`` samples from the prior (``model.prior_samples``)
    against the real test images, and the ``fid_real``/``kid_real`` floor."""
    ev = run.evaluator(evaluator_domain)
    if ev is None:
        return {}
    fake = run.model.prior_samples(num_samples, run.rng(seed))
    return {
        **_evaluator_metric(ev),
        **gen_scores.generation_scores(fake, run.task, ev, max_real=max_real),
    }


def joint(run: Any, *, per_class: int = 100) -> dict[str, float]:
    """``joint/{domain}/conditional_accuracy`` for each domain an embedded evaluator judges (the
    domain's images generated for each label show it), and ``joint/pair_agreement``: both
    evaluators give a jointly generated pair (``model.sample``) the same class."""
    model, task = run.model, run.task
    out: dict[str, float] = {}
    preds = []
    with evaluating(model):
        for i, dom in enumerate(model.domains):
            judge = evaluator_domain_for(dom.name, None)
            if judge is None:
                continue
            ev = classifier.get_evaluator(judge, task.image_size, dom.channels, device=model.device)
            out[f"evaluator/{judge}_test_accuracy"] = float(ev.test_accuracy)

            def generate(labels: torch.Tensor, i: int = i) -> torch.Tensor:
                return list(model.sample(len(labels), labels=labels, seed=0).values())[i]

            out[f"joint/{dom.name}/conditional_accuracy"] = conditional_accuracy(
                generate, ev.logits, model.num_classes, per_class
            )
            labels = torch.arange(model.num_classes).repeat_interleave(per_class)
            preds.append(ev.logits(generate(labels)).argmax(1))
    if len(preds) == 2:
        out["joint/pair_agreement"] = float((preds[0] == preds[1]).float().mean())
    return out
