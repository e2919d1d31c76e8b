"""One entry point that evaluates any method: the protocols its class declares, in order.

A method lists the protocols it supports as class data (``Method.evaluation``, names from
:data:`EVALUATION_PROTOCOLS`) and offers the small accessors they read (``classify``,
``source_only_logits``, ``code_probabilities``, ...); :func:`evaluate` runs them and merges their
metrics (a key two protocols both report, such as ``evaluator/{domain}_test_accuracy``, keeps its
first place and takes the later value). Options go to every protocol that takes them by name
(``max_images`` to ``translation``, ``per_value`` to ``codes``, ``seed`` to ``codes`` and
``generation`` alike); an option no declared protocol takes is refused.

The protocols of generators from noise (``codes``, ``conditional``, ``generation``) share one
evaluator and one random stream per call (seeded by ``seed``), drawn in the declared order.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch

from transynth.eval import generation
from transynth.eval import generator_protocols as gen
from transynth.eval.adaptation import evaluate_domain_adaptation
from transynth.eval.classifier import DomainClassifier
from transynth.eval.metrics import classification_accuracy
from transynth.eval.multidomain import evaluate_attributes, evaluate_domains
from transynth.eval.translation import evaluate_translation
from transynth.nn.inference import evaluating, run_batched

__all__ = ["EVALUATION_PROTOCOLS", "EvaluationRun", "evaluate"]


class EvaluationRun:
    """One call of :func:`evaluate`: the model, the task and what its protocols share."""

    def __init__(self, model: Any, task: Any) -> None:
        self.model, self.task = model, task
        self._evaluator: tuple[DomainClassifier | None] | None = None
        self._rng: torch.Generator | None = None

    def evaluator(self, evaluator_domain: Any = None) -> DomainClassifier | None:
        """The evaluator of the task's first domain (None without one), built once."""
        if self._evaluator is None:
            self._evaluator = (
                generation.domain_evaluator(self.task, self.model.device, evaluator_domain),
            )
        return self._evaluator[0]

    def rng(self, seed: int) -> torch.Generator:
        """The random stream the generator protocols draw from, seeded once."""
        if self._rng is None:
            self._rng = torch.Generator().manual_seed(seed)
        return self._rng


def translation(run: EvaluationRun, **options: Any) -> dict[str, float]:
    """:func:`transynth.eval.translation.evaluate_translation`: paired tasks by L1/PSNR/SSIM
    (+ FCN score), unpaired ones per direction by the target evaluator, FID and KID."""
    return evaluate_translation(run.model, run.task, **options)


def _adaptation(run: EvaluationRun, source: Any, target: Any) -> dict[str, float]:
    device = run.model.device
    with evaluating(run.model):
        return evaluate_domain_adaptation(source, target, run.task, device=device)


def adaptation(run: EvaluationRun) -> dict[str, float]:
    """The method's own classifier (``classify(x, domain)``) on target and source test images
    and, labelled transductive, on the target training images (see
    :mod:`transynth.eval.adaptation`). Nothing for a model without one (``adapts`` False)."""
    m = run.model
    if not m.adapts:
        return {}
    return _adaptation(run, lambda x: m.classify(x, 0), lambda x: m.classify(x, 1))


def via_translation(run: EvaluationRun) -> dict[str, float]:
    """``via_translation/target_test_accuracy``: target test images translated into the source
    domain, then the source path of the method's classifier."""
    m = run.model
    if not m.adapts:
        return {}
    out = _adaptation(
        run,
        lambda x: m.classify(x, 0),
        lambda x: m.classify(m.translate_tensor(x, "BtoA"), 0),
    )
    return {"via_translation/target_test_accuracy": out["target_test_accuracy"]}


def source_only(run: EvaluationRun) -> dict[str, float]:
    """The same-run source-only baseline (``source_only_logits``) under ``source_only/``, for a
    like-for-like comparison with ``adaptation``."""
    m = run.model
    if not (m.adapts and m.has_source_only_baseline):
        return {}
    out = _adaptation(run, m.source_only_logits, m.source_only_logits)
    return {f"source_only/{k}": v for k, v in out.items()}


def source_classifier(run: EvaluationRun) -> dict[str, float]:
    """A fixed classifier trained on the source labels (DTN's pre-trained f with its head,
    ``source_classifier_logits``): ``f/source_test_accuracy`` and, as the source-only baseline,
    ``f/target_test_accuracy`` (when the target's classes are within the head's)."""
    m, out = run.model, {}
    with evaluating(m):
        for key, d in (("f/source_test_accuracy", 0), ("f/target_test_accuracy", 1)):
            x, y = run.task.test.domain_tensors(d)
            if len(x) == 0 or not bool((y >= 0).any()):
                continue
            if d == 1 and int(y.max()) >= m.domains[0].num_classes:
                continue  # target classes outside the head: no baseline
            logits = run_batched(m.source_classifier_logits, x, 256, device=m.device)
            out[key] = classification_accuracy(logits, y)
    return out


def multidomain(run: EvaluationRun, **options: Any) -> dict[str, float]:
    """StarGAN's protocols: per (source, target) domain pair, or per attribute edit (see
    :mod:`transynth.eval.multidomain`)."""
    m, task = run.model, run.task
    if m.labels.mask:
        raise ValueError(
            "evaluation of a mask-vector (model.datasets) run is not supported: evaluate "
            "each dataset with its own single-dataset run"
        )
    if task.kind == "domains":
        return evaluate_domains(m, task, **options)
    if task.kind == "attributes":
        return evaluate_attributes(m, task, **options)
    raise ValueError(f"{m.name} evaluates domains or attributes tasks, not {task.kind}")


#: The protocols a method can declare, by name: (function, what it reports).
EVALUATION_PROTOCOLS: dict[str, Callable[..., dict[str, float]]] = {
    "translation": translation,
    "adaptation": adaptation,
    "via_translation": via_translation,
    "source_only": source_only,
    "source_classifier": source_classifier,
    "joint": gen.joint,
    "codes": gen.codes,
    "conditional": gen.conditional,
    "generation": gen.generation,
    "multidomain": multidomain,
}

#: Where a protocol forwards **options, the function whose keywords it accepts.
_FORWARDS: dict[str, Callable[..., Any]] = {
    "translation": evaluate_translation,
    "multidomain": evaluate_domains,  # evaluate_attributes takes the same keywords
}


def _accepted(name: str) -> set[str]:
    fn = _FORWARDS.get(name, EVALUATION_PROTOCOLS[name])
    params = inspect.signature(fn).parameters.values()
    return {p.name for p in params if p.kind == p.KEYWORD_ONLY}


def evaluate(model: Any, task: Any, **options: Any) -> dict[str, float]:
    """Held-out metrics of `model` on `task` (a TaskData): every protocol in
    ``model.evaluation``, in order, merged into one flat ``{name: float}``.

    Args:
        model: a trained method (``transynth.models.Method``).
        task: the task to judge it on (its test split; some protocols also read the unlabelled
            training images, reported as such).
        options: protocol options by name, e.g. ``max_images``, ``evaluator_domain`` (translation),
            ``per_value``, ``num_samples``, ``max_real``, ``seed`` (codes, generation),
            ``per_class`` (conditional, joint).

    Raises:
        ValueError: an unknown protocol in ``model.evaluation`` or an option none of its
            protocols takes.
    """
    names = tuple(model.evaluation)
    unknown = [n for n in names if n not in EVALUATION_PROTOCOLS]
    if unknown:
        raise ValueError(
            f"{model.name} declares unknown evaluation protocols {unknown}; accepted: "
            + ", ".join(EVALUATION_PROTOCOLS)
        )
    accepted = {n: _accepted(n) for n in names}
    extra = sorted(set(options) - set().union(*accepted.values()))
    if extra:
        takes = sorted(set().union(*accepted.values()))
        raise ValueError(
            f"{model.name}'s evaluation ({', '.join(names)}) takes no option "
            f"{', '.join(extra)}; accepted: {', '.join(takes) or 'none'}"
        )
    run = EvaluationRun(model, task)
    metrics: dict[str, float] = {}
    for name in names:
        mine = {k: v for k, v in options.items() if k in accepted[name]}
        metrics.update(EVALUATION_PROTOCOLS[name](run, **mine))
    return metrics
