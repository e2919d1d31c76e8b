"""One writer per run folder: the run lock (training/runlock.py)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest
from conftest import tiny_trainer

import transynth
from transynth.training.runlock import (
    LOCK_NAME,
    RunLock,
    RunLocked,
    _proc_start,
    hold,
    read_holder,
)


@pytest.fixture
def other_holder():
    """Make a live process (another user's trainer, as far as the lock can tell) the holder of
    `folder`'s lock: the lock file it would have written names its pid and start tick."""
    procs = []

    def start(folder: Path) -> subprocess.Popen:
        proc = subprocess.Popen(["sleep", "120"])
        procs.append(proc)
        _forge(folder, pid=proc.pid, proc_start=_proc_start(proc.pid))
        return proc

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


def _forge(folder: Path, **fields) -> Path:
    """A lock file as another process would have left it."""
    folder.mkdir(parents=True, exist_ok=True)
    holder = {"pid": 1, "host": socket.gethostname(), "since": "2026-01-01T00:00:00Z"}
    path = folder / LOCK_NAME
    path.write_text(json.dumps({**holder, **fields}))
    return path


def test_the_lock_records_its_holder_and_is_removed_on_release(tmp_path):
    with RunLock(tmp_path) as lock:
        holder = read_holder(tmp_path / LOCK_NAME)
        assert holder == lock.holder
        assert holder.pid == os.getpid() and holder.host == socket.gethostname()
        assert holder.since.endswith("Z")
    assert not (tmp_path / LOCK_NAME).exists()


def test_a_second_trainer_stops_at_once_naming_the_holder(tmp_path, other_holder):
    holder = other_holder(tmp_path)
    trainer = tiny_trainer("cyclegan", tmp_path, steps=2)
    started = time.time()
    with pytest.raises(RunLocked) as err:
        trainer.fit()
    assert time.time() - started < 5
    message = str(err.value)
    assert f"pid {holder.pid}" in message and socket.gethostname() in message
    assert "since 20" in message and str(tmp_path / LOCK_NAME) in message
    assert trainer.step == 0 and not (tmp_path / "checkpoints").exists()
    assert not (tmp_path / "config.yaml").exists(), "the refused trainer wrote nothing"
    assert read_holder(tmp_path / LOCK_NAME).pid == holder.pid, "the holder keeps its lock"


def test_the_command_line_refuses_a_held_folder_with_exit_2(tmp_path, other_holder, capsys):
    from transynth.cli import main

    holder = other_holder(tmp_path)
    argv = ["train", "cyclegan", "--data", "mnist2uci", "--steps", "2", "--out", str(tmp_path)]
    argv += ["--data.image_size", "16", "--model.ngf", "4", "--model.ndf", "4"]
    assert main([*argv, "--train.progress", "false", "--train.evaluate", "false"]) == 2
    assert f"pid {holder.pid} on host" in capsys.readouterr().err


def test_the_lock_of_a_killed_process_is_taken_over(tmp_path, other_holder):
    holder = other_holder(tmp_path)
    holder.kill()  # SIGKILL: no chance to release the lock
    holder.wait()
    assert read_holder(tmp_path / LOCK_NAME).pid == holder.pid
    tiny_trainer("cyclegan", tmp_path, steps=2).fit()
    assert transynth.load(tmp_path).trained_steps == 2
    assert not (tmp_path / LOCK_NAME).exists()


def test_a_reused_pid_does_not_keep_a_stale_lock(tmp_path):
    """The lock names our own pid but another process start: that process is gone."""
    _forge(tmp_path, pid=os.getpid(), proc_start="1")
    with RunLock(tmp_path) as lock:
        assert lock.holder.pid == os.getpid() and lock.holder.proc_start != "1"


def test_a_lock_from_another_host_is_stale_only_without_heartbeat(tmp_path):
    path = _forge(tmp_path, host="node-elsewhere", pid=4242)
    with pytest.raises(RunLocked, match="pid 4242 on host node-elsewhere"):
        RunLock(tmp_path).acquire()
    old = time.time() - 3600  # no heartbeat for an hour
    os.utime(path, (old, old))
    with RunLock(tmp_path) as lock:
        assert read_holder(path) == lock.holder


def test_release_leaves_a_lock_that_is_not_ours(tmp_path):
    lock = RunLock(tmp_path)
    lock.acquire()
    _forge(tmp_path, pid=4242, host="node-elsewhere")  # someone else's, e.g. after a takeover
    lock.release()
    assert read_holder(tmp_path / LOCK_NAME).pid == 4242


def test_hold_is_reentrant_within_one_process(tmp_path):
    with hold(tmp_path):
        with hold(tmp_path):
            assert (tmp_path / LOCK_NAME).exists()
        assert (tmp_path / LOCK_NAME).exists()
    assert not (tmp_path / LOCK_NAME).exists()


def test_reading_a_run_needs_no_lock(tmp_path, other_holder):
    tiny_trainer("cyclegan", tmp_path, steps=2).fit()
    holder = other_holder(tmp_path)  # e.g. a trainer resuming the run
    model = transynth.load(tmp_path)
    assert model.trained_steps == 2
    assert read_holder(tmp_path / LOCK_NAME).pid == holder.pid
