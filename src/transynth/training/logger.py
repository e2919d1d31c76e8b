"""Run logs: a JSONL file always, TensorBoard when installed."""

from __future__ import annotations

import json

from transynth.runfolder import RunFolder


class RunLogger:
    """Appends one JSON object per logged step to log.jsonl (and scalars to TensorBoard)."""

    def __init__(self, folder: RunFolder, tensorboard: bool = True) -> None:
        self.path = folder.log
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(str(folder.tensorboard))
            except ImportError:  # TensorBoard is optional
                self._tb = None

    def truncate_after(self, step: int) -> None:
        """On resume, drop lines logged after the checkpoint (they will be logged again)."""
        if not self.path.exists():
            return
        kept = [
            line
            for line in self.path.read_text().splitlines()
            if line.strip() and json.loads(line).get("step", 0) <= step
        ]
        self.path.write_text("".join(line + "\n" for line in kept))

    def log(self, step: int, values: dict[str, float]) -> None:
        with self.path.open("a") as f:
            f.write(json.dumps({"step": step, **values}) + "\n")
        if self._tb is not None:
            for key, value in values.items():
                self._tb.add_scalar(key, value, step)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
