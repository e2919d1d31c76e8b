"""Evaluation helpers for generators from noise (InfoGAN, AC-GAN): the evaluator of a classes
task's domain, and FID/KID of generated images against real test images in its feature space.

Protocol: the generated images and the real test images of the task's domain are embedded by the
domain's evaluator (:func:`transynth.eval.classifier.get_evaluator`, penultimate features); FID
and KID compare the two sets (``fid``, ``kid``). As a floor, the same distances between the first
N real TRAIN images and the real test images are reported (``fid_real``, ``kid_real``): a
generator cannot be expected to beat real data of the same domain.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from transynth.eval.classifier import DomainClassifier, get_evaluator
from transynth.eval.metrics import fid_from_features, kid_from_features
from transynth.eval.translation import evaluator_domain_for

__all__ = ["domain_evaluator", "generation_scores"]


def domain_evaluator(
    task: Any,
    device: torch.device,
    evaluator_domain: Mapping[str, str | None] | None = None,
) -> DomainClassifier | None:
    """The evaluator judging the first domain of `task`, or None when it has none (folder data
    whose domain is not an embedded one, unless ``evaluator_domain`` names one)."""
    info = task.domains[0]
    name = evaluator_domain_for(info.name, evaluator_domain)
    if name is None:
        return None
    return get_evaluator(name, task.image_size, info.channels, device=device)


def generation_scores(
    fake: torch.Tensor,
    task: Any,
    evaluator: DomainClassifier,
    *,
    max_real: int | None = None,
    batch_size: int = 256,
) -> dict[str, float]:
    """``fid``/``kid`` of `fake` vs the real test images, and the ``fid_real``/``kid_real`` floor
    (real train vs real test), all in `evaluator`'s feature space."""
    real_test, _ = task.test.domain_tensors(0)
    real_train, _ = task.train.domain_tensors(0)
    if max_real is not None:
        real_test = real_test[:max_real]
    real_train = real_train[: len(real_test)]
    f_fake, f_test, f_train = (
        evaluator.embed(x, batch_size) for x in (fake, real_test, real_train)
    )
    out: dict[str, float] = {"num_generated": float(len(fake)), "num_real": float(len(real_test))}
    if min(len(f_fake), len(f_test)) >= 2:
        out["fid"] = fid_from_features(f_fake, f_test)
        out["kid"] = kid_from_features(f_fake, f_test)
    if min(len(f_train), len(f_test)) >= 2:
        out["fid_real"] = fid_from_features(f_train, f_test)
        out["kid_real"] = kid_from_features(f_train, f_test)
    return out
