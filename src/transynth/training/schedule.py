"""Learning-rate schedule as a pure function of the step (nothing to checkpoint)."""

from __future__ import annotations


def linear_decay_factor(step: int, total_steps: int, decay_start: float) -> float:
    """1 for the first `decay_start` fraction of the steps, then linear decay towards 0.

    The pix2pix/CycleGAN schedule ("100 epochs at lr, then 100 epochs decaying to 0") is
    decay_start = 0.5. The factor at the last step is 1/(decay steps), never exactly 0, so the
    last update still moves the weights.
    """
    start = int(total_steps * decay_start)
    if step < start:
        return 1.0
    decay_steps = max(total_steps - start, 1)
    return max(0.0, 1.0 - (step - start) / decay_steps)
