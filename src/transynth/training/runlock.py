"""One writer per run folder: a lock file held for the life of a training run.

The lock is the file ``RUN/run.lock`` holding JSON: the holder's pid, host, start time (UTC) and
the kernel's start tick of that pid (to tell a live holder from a new process that reused its
pid). It is created complete in one step (written to a temporary file, then hard-linked to its
name, which fails if the name exists: the classic NFS-safe way), so a reader never sees a
half-written holder.

A second trainer on the same folder fails at once with :class:`RunLocked`, naming the holder.
A lock left behind by a process that died without releasing it (SIGKILL, a crashed node) is
stale and taken over:

- on the same host, when its pid no longer runs (or runs a different process);
- from another host, whose pids cannot be checked, when the holder has stopped refreshing the
  file's modification time (a heartbeat every ``HEARTBEAT_S`` seconds) for ``STALE_AFTER_S``.

Reading a run (translate, evaluate, export, serve) takes no lock.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from transynth.config import ConfigError
from transynth.runfolder import RunFolder
from transynth.training.distributed import DistInfo
from transynth.training.preemption import any_rank

#: The lock file's name inside a run folder.
LOCK_NAME = RunFolder(".").lock.name  # "run.lock"
#: How often the holder refreshes the lock file's modification time.
HEARTBEAT_S = 30.0
#: A lock from another host not refreshed for this long is taken to be stale.
STALE_AFTER_S = 600.0
#: A takeover in progress (the name of its short-lived mutex file, and when it counts as dead).
_TAKEOVER_SUFFIX = ".takeover"
_TAKEOVER_STALE_S = 60.0


class RunLocked(ConfigError):
    """Another live trainer holds the run folder's lock."""


@dataclass(frozen=True)
class LockHolder:
    """Who holds a run folder's lock."""

    pid: int
    host: str
    since: str  # ISO 8601, UTC
    proc_start: str | None = None  # /proc/PID/stat start tick, where there is a /proc

    def describe(self) -> str:
        return f"pid {self.pid} on host {self.host} since {self.since}"


def _proc_start(pid: int) -> str | None:
    """The kernel's start tick of `pid` (Linux), or None where it cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces: split after its closing parenthesis
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def _pid_state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rfind(")") + 2 :].split()[0]


def _alive(holder: LockHolder) -> bool:
    """Whether the holder's process (on this host) still runs."""
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of another user: it exists
        pass
    if _pid_state(holder.pid) in ("Z", "X"):  # exited, not yet reaped by its parent
        return False
    start = _proc_start(holder.pid)
    return not (holder.proc_start and start and start != holder.proc_start)


def read_holder(lock_file: Path) -> LockHolder | None:
    """The holder recorded in `lock_file`, or None if there is none or it is unreadable."""
    try:
        data = json.loads(lock_file.read_text())
        return LockHolder(
            int(data["pid"]), str(data["host"]), str(data["since"]), data.get("proc_start")
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _is_stale(lock_file: Path, holder: LockHolder | None) -> bool:
    if holder is None:  # unreadable or foreign content: stale once old enough
        return _age(lock_file) > _TAKEOVER_STALE_S
    if holder.host == socket.gethostname():
        return not _alive(holder)
    return _age(lock_file) > STALE_AFTER_S


def _age(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


class RunLock:
    """The lock of one run folder; ``with RunLock(folder):`` holds it for the block."""

    def __init__(self, run_dir: str | os.PathLike) -> None:
        self.path = RunFolder(run_dir).lock
        self.holder: LockHolder | None = None
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    def acquire(self) -> None:
        """Take the lock, taking over a stale one; RunLocked naming the holder otherwise."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        me = LockHolder(
            os.getpid(),
            socket.gethostname(),
            datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            _proc_start(os.getpid()),
        )
        for _ in range(3):
            if self._create(me):
                self.holder = me
                self._start_heartbeat()
                return
            holder = read_holder(self.path)
            if not _is_stale(self.path, holder):
                raise self._locked(holder)
            self._take_over(holder)
        raise self._locked(read_holder(self.path))

    def _locked(self, holder: LockHolder | None) -> RunLocked:
        who = holder.describe() if holder else "a process whose lock file cannot be read"
        return RunLocked(
            f"run folder {self.path.parent} is in use by another trainer: {who} (lock file "
            f"{self.path}). Wait for it to finish, stop it, or choose another --out folder; if "
            "that process is gone (e.g. its node died), delete the lock file"
        )

    def _create(self, me: LockHolder) -> bool:
        """Create the lock file, complete, unless it exists."""
        tmp = self.path.with_name(f".{LOCK_NAME}.{me.pid}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(me.__dict__))
        try:
            os.link(tmp, self.path)
            return True
        except FileExistsError:
            return False
        except OSError as err:  # a file system without hard links
            if err.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
                raise
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                return False
            with os.fdopen(fd, "w") as f:
                f.write(json.dumps(me.__dict__))
            return True
        finally:
            tmp.unlink(missing_ok=True)

    def _take_over(self, stale: LockHolder | None) -> None:
        """Remove a stale lock, one process at a time (a short-lived mutex file), after
        checking that it is still the same stale lock."""
        mutex = self.path.with_name(LOCK_NAME + _TAKEOVER_SUFFIX)
        if _age(mutex) > _TAKEOVER_STALE_S:  # a takeover that died half-way
            mutex.unlink(missing_ok=True)
        try:
            fd = os.open(mutex, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            time.sleep(0.2)  # another process is taking over; try again
            return
        os.close(fd)
        try:
            if read_holder(self.path) == stale:
                self.path.unlink(missing_ok=True)
        finally:
            mutex.unlink(missing_ok=True)

    def _start_heartbeat(self) -> None:
        self._stop.clear()
        self._heartbeat = threading.Thread(target=self._beat, name="run-lock", daemon=True)
        self._heartbeat.start()

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            with contextlib.suppress(OSError):
                os.utime(self.path)

    def release(self) -> None:
        """Give the lock up (the file is removed only if it is still this process's)."""
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
            self._heartbeat = None
        if self.holder is not None and read_holder(self.path) == self.holder:
            self.path.unlink(missing_ok=True)
        self.holder = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


# Folders this process holds, with a count: a run that trains candidates and then itself
# (train.restarts) takes the same folder's lock twice.
_HELD: dict[Path, list] = {}
_HELD_GUARD = threading.Lock()


@contextlib.contextmanager
def hold(run_dir: str | os.PathLike) -> Iterator[None]:
    """Hold `run_dir`'s lock for the block (re-entrant within one process)."""
    key = Path(run_dir).resolve()
    with _HELD_GUARD:
        entry = _HELD.get(key)
        if entry is None:
            lock = RunLock(run_dir)
            lock.acquire()
            entry = _HELD[key] = [lock, 0]
        entry[1] += 1
    try:
        yield
    finally:
        with _HELD_GUARD:
            entry[1] -= 1
            if entry[1] == 0:
                del _HELD[key]
                entry[0].release()


@contextlib.contextmanager
def hold_for_run(run_dir: str | os.PathLike, info: DistInfo) -> Iterator[None]:
    """Rank 0 holds `run_dir`'s lock for the block; under torchrun every process fails together
    when it cannot (rank 0 with the holder's name)."""
    with contextlib.ExitStack() as stack:
        error: Exception | None = None
        if info.is_main:
            try:
                stack.enter_context(hold(run_dir))
            except Exception as err:  # noqa: BLE001 (re-raised below, on every rank)
                error = err
        if any_rank(error is not None, info):
            raise error or RunLocked(f"rank 0 could not lock the run folder {run_dir}")
        yield
