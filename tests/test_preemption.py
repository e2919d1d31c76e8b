"""Preemption: a stop signal ends a run after the current step with a checkpoint, and the
resumed run ends with the weights of an uninterrupted one, bit for bit."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import task_for, tiny_trainer

import transynth
from transynth.cli import main as cli_main
from transynth.runfolder import RunFolder
from transynth.training.checkpoint import read_checkpoint
from transynth.training.preemption import INTERRUPTED_EXIT, RunInterrupted

SRC = str(Path(transynth.__file__).parents[1])
WORKER = Path(__file__).with_name("reliability_worker.py")
# A tiny CycleGAN (image pool on: random draws that a resume must continue exactly) on a
# bundled task, through the command line as a user runs it.
CLI_ARGS = [
    "train", "cyclegan", "--data", "mnist2uci", "--data.image_size", "16",
    "--model.ngf", "4", "--model.ndf", "4", "--model.n_blocks", "1", "--model.d_layers", "1",
    "--model.pool_size", "4", "--train.batch_size", "2", "--train.evaluate", "false",
    "--train.progress", "false", "--train.tensorboard", "false",
    "--train.checkpoint_every", "25", "--train.sample_every", "1000", "--train.log_every", "1",
]  # fmt: skip


def _weights(trainer) -> dict[str, torch.Tensor]:
    return {
        f"{n}.{k}": v.clone()
        for n, net in trainer.model.networks().items()
        for k, v in net.state_dict().items()
    }


def _signal_during_step(trainer, monkeypatch, step: int, signum: int, times: int = 1) -> None:
    """Send `signum` to this process `times` times from inside step `step` (1-based)."""
    original, calls = trainer.model.step, {"n": 0}
    per_step = len(trainer.model.phases(0))

    def signalled(phase, batch):
        calls["n"] += 1
        if calls["n"] == (step - 1) * per_step + 1:
            for _ in range(times):
                os.kill(os.getpid(), signum)
        return original(phase, batch)

    monkeypatch.setattr(trainer.model, "step", signalled)


@pytest.mark.parametrize("method", ["cyclegan", "infogan", "stargan"])
def test_sigterm_stops_after_the_step_and_the_resume_is_exact(method, tmp_path, monkeypatch):
    straight = tiny_trainer(method, tmp_path / "a", steps=7)
    straight.fit()
    first = tiny_trainer(method, tmp_path / "b", steps=7, checkpoint_every=3)
    _signal_during_step(first, monkeypatch, step=5, signum=signal.SIGTERM)
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(RunInterrupted, match="SIGTERM received: stopped after step 5") as stop:
        first.fit()
    assert signal.getsignal(signal.SIGTERM) is before, "the handler is restored"
    assert (
        stop.value.step == 5 and Path(stop.value.checkpoint) == RunFolder(tmp_path / "b").checkpoint
    )
    assert read_checkpoint(RunFolder(tmp_path / "b").checkpoint)[1]["step"] == "5"
    assert not (tmp_path / "b" / "run.lock").exists(), "the lock is released"
    resumed = tiny_trainer(method, tmp_path / "b", steps=7)
    assert resumed.step == 5
    resumed.fit()
    a, b = _weights(straight), _weights(resumed)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs after the resume"


def test_sigusr1_stops_too_and_a_second_sigint_stops_at_once(tmp_path, monkeypatch):
    first = tiny_trainer("cyclegan", tmp_path / "usr1", steps=4)
    _signal_during_step(first, monkeypatch, step=2, signum=signal.SIGUSR1)
    with pytest.raises(RunInterrupted, match="SIGUSR1") as stop:
        first.fit()
    assert stop.value.step == 2
    twice = tiny_trainer("cyclegan", tmp_path / "int", steps=4, checkpoint_every=1)
    _signal_during_step(twice, monkeypatch, step=3, signum=signal.SIGINT, times=2)
    with pytest.raises(KeyboardInterrupt):
        twice.fit()
    # stopped inside step 3: the checkpoint of step 2 is the last one
    assert read_checkpoint(RunFolder(tmp_path / "int").checkpoint)[1]["step"] == "2"


def _logged_steps(run: Path) -> int:
    try:
        return len((run / "log.jsonl").read_text().splitlines())
    except FileNotFoundError:
        return 0


def _sigterm_cli_run(run: Path, steps: int, after_steps: int) -> subprocess.CompletedProcess:
    """`transynth train` in a child process, sent SIGTERM once `after_steps` steps are logged."""
    env = {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "transynth.cli", *CLI_ARGS, "--steps", str(steps)]
    proc = subprocess.Popen([*cmd, "--out", str(run)], env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while _logged_steps(run) < after_steps and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(cmd, proc.returncode, "", err)


def test_sigterm_to_the_command_line_at_a_random_moment(tmp_path):
    steps = 60
    after = random.Random().randint(2, 50)  # how many logged steps to wait for: the moment
    stopped = _sigterm_cli_run(tmp_path / "b", steps, after)
    assert stopped.returncode == INTERRUPTED_EXIT, (after, stopped.stderr)
    assert "interrupted: SIGTERM received: stopped after step" in stopped.stderr
    saved = int(read_checkpoint(RunFolder(tmp_path / "b").checkpoint)[1]["step"])
    assert after <= saved < steps and saved == _logged_steps(tmp_path / "b"), (after, saved)
    # the uninterrupted run and the resume, in this process, on one thread as the child was:
    # another thread count changes the order of floating-point sums, hence the last bits
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert cli_main([*CLI_ARGS, "--steps", str(steps), "--out", str(tmp_path / "a")]) == 0
        assert cli_main([*CLI_ARGS, "--steps", str(steps), "--out", str(tmp_path / "b")]) == 0
    finally:
        torch.set_num_threads(threads)
    a, b = transynth.load(tmp_path / "a"), transynth.load(tmp_path / "b")
    assert a.trained_steps == b.trained_steps == steps
    for (name, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        assert torch.equal(pa, pb), f"{name} differs (signal after {after} steps, saved {saved})"


def _torchrun(*args: str) -> list[str]:
    torchrun = shutil.which("torchrun")
    return [*([torchrun] if torchrun else [sys.executable, "-m", "torch.distributed.run"]), *args]


@pytest.mark.slow
def test_under_torchrun_a_signal_to_one_rank_stops_every_rank_at_the_same_step(tmp_path):
    env = {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1"}
    launch = _torchrun("--standalone", "--nproc_per_node", "2", str(WORKER))
    subprocess.run([*launch, str(tmp_path / "a"), "40", "1000"], check=True, env=env, timeout=300)
    pids, run = tmp_path / "pids", tmp_path / "b"
    proc = subprocess.Popen(
        [*launch, str(run), "40", "1000", str(pids)], env=env, stdout=subprocess.PIPE, text=True
    )
    while _logged_steps(run) < 10 and proc.poll() is None:
        time.sleep(0.01)
    os.kill(int((pids / "rank1.pid").read_text().split()[0]), signal.SIGTERM)  # rank 1 only
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode != 0, out
    stops = sorted(line.split()[1:] for line in out.splitlines() if line.startswith("stopped"))
    assert [rank for _, rank, _, _ in stops] == ["0", "1"], out
    steps = {step for *_, step in stops}
    assert len(steps) == 1, f"the ranks stopped at different steps: {out}"
    assert read_checkpoint(RunFolder(run).checkpoint)[1]["step"] == steps.pop()
    subprocess.run([*launch, str(run), "40", "1000"], check=True, env=env, timeout=300)
    a, b = transynth.load(tmp_path / "a"), transynth.load(run)
    assert a.trained_steps == b.trained_steps == 40
    for (name, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        assert torch.equal(pa, pb), f"{name} differs after the resume"
    log = [json.loads(line)["step"] for line in (run / "log.jsonl").read_text().splitlines()]
    assert log == list(range(1, 41))


@pytest.mark.slow
def test_sigterm_to_torchrun_itself_checkpoints_within_its_grace_period(tmp_path):
    """What a scheduler does: SIGTERM to the launcher, which forwards it to every worker and
    kills them 30 s later; the workers stop at one step with a checkpoint well before that."""
    env = {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1"}
    launch = _torchrun("--standalone", "--nproc_per_node", "2", str(WORKER))
    run = tmp_path / "run"
    proc = subprocess.Popen(
        [*launch, str(run), "400", "1000"], env=env, stdout=subprocess.PIPE, text=True
    )
    while _logged_steps(run) < 10 and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    signalled = time.time()
    out, _ = proc.communicate(timeout=120)
    assert time.time() - signalled < 30, "the workers outlived torchrun's grace period"
    assert proc.returncode != 0
    lines = [line.split() for line in out.splitlines() if line.startswith("stopped")]
    assert sorted(words[2] for words in lines) == ["0", "1"], out
    stops = {words[-1] for words in lines}
    assert len(stops) == 1 and read_checkpoint(RunFolder(run).checkpoint)[1]["step"] in stops, out
    assert int(stops.pop()) == _logged_steps(run), "no logged step is lost"
    print(f"torchrun exit {proc.returncode}, {time.time() - signalled:.1f} s after SIGTERM")


def test_the_signal_handlers_leave_other_tasks_alone(tmp_path):
    """Outside fit() the signals keep their usual handlers (pytest's, Python's)."""
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1)}
    tiny_trainer("cyclegan", tmp_path, steps=1, task=task_for("cyclegan")).fit()
    assert {s: signal.getsignal(s) for s in before} == before
