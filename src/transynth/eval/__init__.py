"""Evaluation: image metrics, domain evaluators, translation scores and the HTML run report."""

from transynth.eval.classifier import DomainClassifier, get_evaluator
from transynth.eval.metrics import (
    classification_accuracy,
    fid_from_features,
    hungarian_accuracy,
    kid_from_features,
    l1,
    psnr,
    ssim,
)
from transynth.eval.report import write_report
from transynth.eval.translation import evaluate_translation

__all__ = [
    "DomainClassifier",
    "classification_accuracy",
    "evaluate_translation",
    "fid_from_features",
    "get_evaluator",
    "hungarian_accuracy",
    "kid_from_features",
    "l1",
    "psnr",
    "ssim",
    "write_report",
]
