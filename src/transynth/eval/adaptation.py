"""Domain-adaptation accuracy: a method's own classifier on the TARGET domain.

Protocol: the classifier (e.g. UNIT's discriminator class head, CDRD's attribute head) labels
real target images; accuracy against their true labels, which the method never saw.

- ``target_test_accuracy``: on the held-out target TEST split (the number to compare methods by);
- ``target_train_accuracy_transductive``: on the target TRAINING images the method adapted on,
  unlabelled during training. This is the transductive protocol the CoGAN and CDRD papers report
  (e.g. CDRD's 95.05 on MNIST->USPS scores the 1,800 USPS training images); it is reported
  separately and labelled as such;
- ``source_test_accuracy``: the same classifier on the labelled source domain's test split.

Each accuracy comes with its number of labelled images (``num_target_test``,
``num_target_train``, ``num_source_test``), from which a report can give its sampling error.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from transynth.eval.metrics import classification_accuracy
from transynth.nn.inference import run_batched

Classifier = Callable[[torch.Tensor], torch.Tensor]  # images in [-1, 1] -> logits


def evaluate_domain_adaptation(
    classify_source: Classifier,
    classify_target: Classifier,
    task,
    *,
    source: int = 0,
    target: int = 1,
    batch_size: int = 256,
    device: torch.device | None = None,
) -> dict[str, float]:
    """Accuracies of a method's classifier on the target (and source) domain of `task`.

    Args:
        classify_source: logits for source-domain images (through the source-specific layers).
        classify_target: logits for target-domain images (through the target-specific layers).
        task: a TaskData whose domains `source` and `target` carry labels.
        device: where the classifiers run (each batch is moved there); None: as stored.
    """
    out: dict[str, float] = {}
    for key, count_key, split, domain, classify in (
        ("target_test_accuracy", "num_target_test", task.test, target, classify_target),
        (
            "target_train_accuracy_transductive",
            "num_target_train",
            task.train,
            target,
            classify_target,
        ),
        ("source_test_accuracy", "num_source_test", task.test, source, classify_source),
    ):
        x, y = split.domain_tensors(domain)
        labelled = int((y >= 0).sum())
        if len(x) == 0 or labelled == 0:
            continue
        out[key] = classification_accuracy(run_batched(classify, x, batch_size, device=device), y)
        out[count_key] = float(labelled)
    return out
