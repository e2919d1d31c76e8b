"""Evaluation: image metrics, domain evaluators, the protocols each method declares, its report
figures and the HTML run report. :func:`evaluate` and :func:`write_figures` are the entry points."""

from transynth.eval.checkerboard import checkerboard_share
from transynth.eval.classifier import DomainClassifier, get_evaluator
from transynth.eval.figure_kinds import FIGURE_KINDS, write_figures
from transynth.eval.folder_classifier import task_judge
from transynth.eval.ground_truth import ground_truth_scores
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
    "checkerboard_share",
    "classification_accuracy",
    "evaluate",
    "evaluate_translation",
    "fid_from_features",
    "get_evaluator",
    "ground_truth_scores",
    "hungarian_accuracy",
    "kid_from_features",
    "l1",
    "psnr",
    "ssim",
    "task_judge",
    "write_figures",
    "write_report",
]
