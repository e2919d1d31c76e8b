"""A disk that fills up while a checkpoint is written: the previous checkpoint stays intact and
the error says what happened and where."""

from __future__ import annotations

import errno
import hashlib
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import safetensors.torch
from conftest import tiny_trainer

from transynth.cli import main as cli_main
from transynth.runfolder import RunFolder
from transynth.training import checkpoint
from transynth.training.checkpoint import DiskFull, read_checkpoint


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fill_up_part_way(monkeypatch) -> None:
    """Make the next checkpoint write stop half-way with ENOSPC, as a full disk does."""
    real = safetensors.torch.save_file

    def half_then_full(tensors, filename, metadata=None):
        real(tensors, filename, metadata=metadata)
        data = Path(filename).read_bytes()
        Path(filename).write_bytes(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device", filename)

    monkeypatch.setattr(checkpoint, "save_file", half_then_full)


def test_enospc_part_way_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    trainer = tiny_trainer("cyclegan", tmp_path, steps=4, checkpoint_every=2)
    trainer.fit(until=2)
    before = _digest(RunFolder(tmp_path).checkpoint)
    _fill_up_part_way(monkeypatch)
    with pytest.raises(DiskFull) as err:
        trainer.fit()  # the checkpoint of step 4 fails half-way
    message = str(err.value)
    assert err.value.errno == errno.ENOSPC
    assert f"disk full while writing checkpoint {RunFolder(tmp_path).checkpoint}" in message
    assert f"the previous checkpoint {RunFolder(tmp_path).checkpoint} is intact" in message
    assert "MiB needed" in message and "MiB free" in message
    assert _digest(RunFolder(tmp_path).checkpoint) == before
    assert read_checkpoint(RunFolder(tmp_path).checkpoint)[1]["step"] == "2"
    leftovers = [p.name for p in (tmp_path / "checkpoints").iterdir()]
    assert leftovers == ["last.safetensors"], "the partial file is removed"
    assert not (tmp_path / "run.lock").exists()
    monkeypatch.undo()
    resumed = tiny_trainer("cyclegan", tmp_path, steps=4, checkpoint_every=2)
    assert resumed.step == 2
    resumed.fit()


def test_the_command_line_reports_a_full_disk_with_exit_2(tmp_path, monkeypatch, capsys):
    _fill_up_part_way(monkeypatch)
    argv = ["train", "cyclegan", "--data", "mnist2uci", "--steps", "1", "--out", str(tmp_path)]
    argv += ["--data.image_size", "16", "--model.ngf", "4", "--model.ndf", "4"]
    assert cli_main([*argv, "--train.progress", "false", "--train.evaluate", "false"]) == 2
    err = capsys.readouterr().err
    assert "disk full while writing checkpoint" in err
    assert "no checkpoint was written" in err and str(tmp_path) in err


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 2 MiB tmpfs (needs the right to mount: root in a container; skipped otherwise)."""
    mount = tmp_path / f"tmpfs-{uuid.uuid4().hex[:6]}"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0 or shutil.which("umount") is None:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def test_a_real_full_tmpfs_keeps_the_previous_checkpoint(small_tmpfs):
    trainer = tiny_trainer("cyclegan", small_tmpfs / "run", steps=2, checkpoint_every=1)
    trainer.fit(until=1)
    path = RunFolder(small_tmpfs / "run").checkpoint
    before = _digest(path)
    free = shutil.disk_usage(small_tmpfs).free
    (small_tmpfs / "ballast").write_bytes(b"\0" * (free - path.stat().st_size // 2))
    with pytest.raises(DiskFull, match="is intact"):
        trainer.fit()
    assert _digest(path) == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["last.safetensors"]
