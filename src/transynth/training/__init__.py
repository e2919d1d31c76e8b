"""The trainer and what it owns: checkpoints, schedules, sampling, logging, distribution."""

from transynth.training.trainer import Trainer, TrainingDiverged

__all__ = ["Trainer", "TrainingDiverged"]
