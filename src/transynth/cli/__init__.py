"""`transynth` command line: every subcommand parses its arguments and calls the public API."""

from __future__ import annotations

import errno
import sys

from transynth.cli.commands import HANDLERS, cmd_train
from transynth.cli.parser import build_parser


def main(argv: list[str] | None = None) -> int:
    from transynth.config import ConfigError
    from transynth.runfolder import RunFolderError
    from transynth.training import TrainingDiverged
    from transynth.training.checkpoint import CheckpointError, DiskFull
    from transynth.training.preemption import INTERRUPTED_EXIT, RunInterrupted

    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "train":
        parser.error(f"unrecognised arguments: {' '.join(extra)}")
    try:
        if args.command == "train":
            return cmd_train(args, extra)
        return HANDLERS[args.command](args)
    except (
        ConfigError,
        CheckpointError,
        RunFolderError,
        TrainingDiverged,
        DiskFull,
        FileNotFoundError,
        ValueError,
    ) as err:
        print(f"transynth: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a full disk while writing logs or samples, not a checkpoint
        if err.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        print(f"transynth: error: disk full: {err}; the last checkpoint is kept", file=sys.stderr)
        return 2
    except RunInterrupted as stop:  # see docs/RELIABILITY.md: resumable, not a failure of it
        print(f"transynth: interrupted: {stop}", file=sys.stderr)
        return INTERRUPTED_EXIT
    except KeyboardInterrupt:
        print("transynth: interrupted; the last checkpoint is kept", file=sys.stderr)
        return 130


__all__ = ["build_parser", "main"]
