"""Two nodes x two processes on the loopback address: two `torchrun --nnodes 2` launches that
meet at a c10d rendezvous on 127.0.0.1, as two machines of a cluster would.

Each launch trains the tiny CycleGAN of tests/reliability_worker.py (image pool off, so that
the 4-process run is deterministic). Uninterrupted, killed-and-resumed and restarted runs must
end with the same weights, bit for bit, and a log holding every step once.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import torch

import transynth

pytestmark = pytest.mark.slow
SRC = str(Path(transynth.__file__).parents[1])
WORKER = Path(__file__).with_name("reliability_worker.py")
STEPS, EVERY = 60, 10


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _nodes(run: Path, pid_dir: Path, max_restarts: int = 0) -> list[subprocess.Popen]:
    """Start the two nodes' torchrun agents, each in its own process group."""
    torchrun = shutil.which("torchrun")
    launcher = [torchrun] if torchrun else [sys.executable, "-m", "torch.distributed.run"]
    endpoint, job = f"127.0.0.1:{_free_port()}", uuid.uuid4().hex[:8]
    env = {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1"}
    cmd = [
        *launcher,
        "--nnodes", "2", "--nproc_per_node", "2", "--rdzv_backend", "c10d",
        "--rdzv_endpoint", endpoint, "--rdzv_id", job, "--max-restarts", str(max_restarts),
        "--local-addr", "127.0.0.1", "--monitor-interval", "0.5",
        str(WORKER), str(run), str(STEPS), str(EVERY), str(pid_dir),
    ]  # fmt: skip
    return [
        subprocess.Popen(
            cmd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        for _ in range(2)
    ]


def _finish(nodes: list[subprocess.Popen], timeout: float = 400) -> list[tuple[int, str]]:
    results = []
    for node in nodes:
        try:
            out, _ = node.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(node.pid, signal.SIGKILL)
            out, _ = node.communicate()
            pytest.fail(f"a node did not end within {timeout} s:\n{out[-3000:]}")
        results.append((node.returncode, out))
    return results


def _logged(run: Path) -> list[int]:
    try:
        lines = (run / "log.jsonl").read_text().splitlines()
    except FileNotFoundError:
        return []
    return [json.loads(line)["step"] for line in lines if line.strip()]


def _wait_for_step(run: Path, step: int, nodes: list[subprocess.Popen]) -> None:
    deadline = time.time() + 300
    while len(_logged(run)) < step:
        assert all(n.poll() is None for n in nodes), "a node ended early"
        assert time.time() < deadline, "training did not reach the step in time"
        time.sleep(0.05)


def _workers(pid_dir: Path) -> dict[int, tuple[int, int]]:
    """{rank: (pid, node)} of the running workers."""
    out = {}
    for path in pid_dir.glob("rank*.pid"):
        pid, node = path.read_text().split()
        out[int(path.stem[4:])] = (int(pid), int(node))
    return out


def _kill_node(pid_dir: Path, node: int) -> None:
    """SIGKILL one node's workers and their torchrun agent at once, as a machine that dies."""
    pids = [pid for pid, n in _workers(pid_dir).values() if n == node]
    stat = Path(f"/proc/{pids[0]}/stat").read_text()
    agent = int(stat[stat.rfind(")") + 2 :].split()[1])  # the workers' parent
    for pid in [agent, *pids]:
        os.kill(pid, signal.SIGKILL)


def _assert_same_weights(a: Path, b: Path) -> None:
    ma, mb = transynth.load(a), transynth.load(b)
    assert ma.trained_steps == mb.trained_steps == STEPS
    for (name, pa), (_, pb) in zip(ma.named_parameters(), mb.named_parameters(), strict=True):
        assert torch.equal(pa, pb), f"{name} differs from the uninterrupted run"


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The uninterrupted 2 x 2 run."""
    run = tmp_path_factory.mktemp("multinode") / "straight"
    results = _finish(_nodes(run, run.parent / "pids-straight"))
    assert all(rc == 0 for rc, _ in results), results[0][1][-3000:]
    assert _logged(run) == list(range(1, STEPS + 1))
    return run


def test_a_killed_node_ends_the_job_loudly_and_the_resume_loses_nothing(reference, tmp_path):
    run = tmp_path / "run"
    nodes = _nodes(run, tmp_path / "pids")
    _wait_for_step(run, 25, nodes)
    _kill_node(tmp_path / "pids", node=1)  # the second machine dies: its agent and workers
    started = time.time()
    results = _finish(nodes, timeout=300)
    codes = sorted(rc for rc, _ in results)
    assert -signal.SIGKILL in codes, codes
    survivor = [out for rc, out in results if rc != -signal.SIGKILL]
    assert survivor and codes[-1] != 0, f"the surviving node exited 0:\n{survivor[0][-3000:]}"
    ended_after = time.time() - started
    last = int(transynth.load(run, checkpoint="last").trained_steps)
    assert last % EVERY == 0 and last >= 20, last
    # resume: both nodes again, from the last checkpoint
    results = _finish(_nodes(run, tmp_path / "pids"))
    assert all(rc == 0 for rc, _ in results), results[0][1][-3000:]
    assert _logged(run) == list(range(1, STEPS + 1)), "every step logged once"
    _assert_same_weights(reference, run)
    print(f"surviving node ended {ended_after:.1f} s after the kill; resumed from step {last}")
