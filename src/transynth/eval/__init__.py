"""Evaluation: image metrics, domain evaluators, the protocols each method declares, its report
figures and the HTML run report. :func:`evaluate` and :func:`write_figures` are the entry points."""

from transynth.eval.classifier import DomainClassifier, get_evaluator
from transynth.eval.figure_kinds import FIGURE_KINDS, write_figures
from transynth.eval.metrics import (
    classification_accuracy,
    fid_from_features,
    hungarian_accuracy,
    kid_from_features,
    l1,
    psnr,
    ssim,
)
from transynth.eval.protocols import EVALUATION_PROTOCOLS, evaluate
from transynth.eval.report import write_report
from transynth.eval.translation import evaluate_translation

__all__ = [
    "EVALUATION_PROTOCOLS",
    "FIGURE_KINDS",
    "DomainClassifier",
    "classification_accuracy",
    "evaluate",
    "evaluate_translation",
    "fid_from_features",
    "get_evaluator",
    "hungarian_accuracy",
    "kid_from_features",
    "l1",
    "psnr",
    "ssim",
    "write_figures",
    "write_report",
]
