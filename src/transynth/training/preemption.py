"""Preemption: stop at a step boundary with a checkpoint when the scheduler asks.

SLURM, Kubernetes and most batch schedulers send SIGTERM some seconds before they kill a job
(SLURM can also send SIGUSR1 ahead of the time limit, ``--signal=USR1@120``); Ctrl-C sends
SIGINT. While a run trains, these signals only set a flag. The trainer looks at it after each
step: it finishes the step, writes its checkpoint atomically and raises :class:`RunInterrupted`,
which the command line turns into exit status :data:`INTERRUPTED_EXIT` (75, ``EX_TEMPFAIL``:
"try again later"). Running the same command again resumes the run exactly.

Under torchrun a signal may reach one process only, or each at a different moment: after every
step the processes take the maximum of their flags (one all-reduce of one number), so all of
them stop after the same step and rank 0's checkpoint is the one every rank was at.

A second Ctrl-C (SIGINT) stops at once, as Python does by default (KeyboardInterrupt): the
last periodic checkpoint is kept, the steps since are lost.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import torch
import torch.distributed as dist

from transynth.training.distributed import DistInfo

#: Exit status of `transynth train` when a signal stopped the run after a checkpoint
#: (sysexits.h EX_TEMPFAIL): the run can be resumed by running the same command again.
INTERRUPTED_EXIT = 75
#: The signals that ask a run to stop at the next step boundary.
STOP_SIGNALS = tuple(
    s for s in (signal.SIGTERM, signal.SIGINT, getattr(signal, "SIGUSR1", None)) if s is not None
)


class RunInterrupted(Exception):
    """A stop signal ended the run after step `step`; its checkpoint is at `checkpoint`."""

    def __init__(self, signal_name: str, step: int, checkpoint: str | Path) -> None:
        self.signal_name, self.step, self.checkpoint = signal_name, step, checkpoint
        super().__init__(
            f"{signal_name} received: stopped after step {step} and saved the checkpoint "
            f"{checkpoint}; run the same command again to resume"
        )


def any_rank(flag: bool, info: DistInfo) -> bool:
    """True on every process if `flag` is true on any process (one all-reduce when
    distributed)."""
    if not info.enabled:
        return flag
    nccl = dist.get_backend() == "nccl"
    device = torch.device("cuda", info.local_rank) if nccl else torch.device("cpu")
    value = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item() > 0)


class StopRequest:
    """While entered, SIGTERM/SIGINT/SIGUSR1 set a flag instead of ending the process.

    Outside the main thread (where Python cannot install signal handlers) it does nothing and
    the signals keep their usual effect.
    """

    def __init__(self) -> None:
        self.signal_name: str | None = None
        self._previous: dict[int, object] = {}

    @property
    def requested(self) -> bool:
        return self.signal_name is not None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGINT and self.signal_name is not None:
            raise KeyboardInterrupt  # a second Ctrl-C: stop now
        if self.signal_name is None:
            self.signal_name = signal.Signals(signum).name

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        self.restore()

    def restore(self) -> None:
        """Give the signals their previous handlers back (idempotent)."""
        for sig, handler in self._previous.items():
            # None: a handler installed outside Python; the default is the closest we can give
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        self._previous.clear()

    def release(self) -> None:
        """Restore the handlers once training is over; a signal that came after the last
        step's check is delivered again, now with its usual effect."""
        self.restore()
        if self.signal_name is not None:
            signal.raise_signal(signal.Signals[self.signal_name])

    def stop_here(
        self, step: int, checkpoint: Path, save: Callable[[], None], info: DistInfo
    ) -> None:
        """After a step: if any process was asked to stop, `save` the checkpoint (rank 0
        writes it) and raise RunInterrupted on every process, all at this same step."""
        if not any_rank(self.requested, info):
            return
        save()
        if info.enabled:
            dist.barrier()
        raise RunInterrupted(
            self.signal_name or "a stop signal to another process", step, checkpoint
        )
