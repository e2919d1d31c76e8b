"""CUDA correctness: the GPU path computes what the CPU path computes, and the GPU speed paths
(bf16 and fp16 autocast, fp16's gradient scaler) track fp32. Skipped where no CUDA device is
visible; `benchmarks/device_check.sh` runs these on a lent GPU."""

from __future__ import annotations

import json
import math

import pytest
import torch
from autocast_check import assert_autocast_tracks_fp32, phase_results, reinit, round_operands
from conftest import (
    assert_gradients_close,
    fit_until_killed,
    task_for,
    tiny_trainer,
)

import transynth
from transynth.training import Trainer
from transynth.training.checkpoint import read_checkpoint

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
#: The device under test (set to "cpu" to check the bf16 and fp32 cases' logic without a GPU).
DEVICE = "cuda"
LOW_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}

# Methods whose G phase draws no random numbers (dropout off): their CPU and GPU losses can be
# compared directly. The others draw noise from device-specific generators.
DETERMINISTIC_G = ("cyclegan", "discogan", "dualgan")


@pytest.fixture(autouse=True)
def _exact_fp32():
    """TF32 would round fp32 matmuls and convolutions to 10-bit mantissas on Ampere and later."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def _trainer(method: str, device: str, task) -> Trainer:
    """fp32 on both devices (amp=none: the presets' auto is bf16 on GPUs and AMX CPUs); dropout
    off, so that DualGAN's G phase draws no random numbers either."""
    model = {"dropout": 0.0} if method == "dualgan" else None
    return tiny_trainer(method, "unused", task, model, device=device, amp="none")


def _g_phase(trainer: Trainer) -> tuple[dict, dict]:
    batch = trainer._to_device(next(iter(trainer._loader())))
    torch.manual_seed(3)
    trainer._set_trainable("g")
    with trainer._autocast():
        losses = trainer.model.step("g", batch)
    sum(v.float() for v in losses.values()).backward()
    grads = {
        n: p.grad.detach().float().cpu()
        for n, p in trainer.model.named_parameters()
        if p.grad is not None
    }
    return {k: v.detach().float().cpu() for k, v in losses.items()}, grads


@pytest.mark.parametrize("method", DETERMINISTIC_G)
def test_cuda_fp32_matches_cpu_fp32(method):
    task = task_for(method)
    (l_cpu, g_cpu), (l_gpu, g_gpu) = (
        _g_phase(_trainer(method, device, task)) for device in ("cpu", DEVICE)
    )
    assert l_cpu.keys() == l_gpu.keys()
    for k in l_cpu:
        torch.testing.assert_close(l_gpu[k], l_cpu[k], rtol=1e-4, atol=1e-5)
    assert_gradients_close(g_cpu, g_gpu)


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
@pytest.mark.parametrize("method", transynth.list_models())
def test_cuda_autocast_tracks_fp32(method, amp):
    """Every method's losses and gradients of every phase under autocast stay within
    low-precision error of a real fp32 run (amp=none) on the same device, from the same random
    draws; the autocast run really computes in the low-precision type (tests/autocast_check.py
    derives the tolerances)."""
    if amp == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    dtype = LOW_DTYPES[amp]
    task = task_for(method)
    fp32, low, rounded = (
        tiny_trainer(method, name, task=task, device=DEVICE, amp=mode)
        for name, mode in (("a", "none"), ("b", amp), ("c", "none"))
    )
    for trainer in (fp32, low, rounded):
        reinit(trainer.model)
    round_operands(rounded, dtype)
    batch = fp32._to_device(next(iter(fp32._loader())))
    assert_autocast_tracks_fp32(
        phase_results(fp32, batch),
        phase_results(low, batch),
        phase_results(rounded, batch, round_to=dtype),
        dtype,
    )


def test_cuda_fp16_training_scales_gradients_and_resumes(tmp_path, monkeypatch):
    """fp16 trains through the gradient scaler (every phase's backward runs on a scaled loss)
    and saves each scaler's state with the checkpoint; a run killed after step 3 resumes from
    its step-2 checkpoint with that state, not a fresh scaler's; the saved model loads onto
    the CPU and translates there as it does on the GPU."""
    first = tiny_trainer(
        "cyclegan", tmp_path, device="cuda", amp="fp16", steps=4, checkpoint_every=2
    )
    assert first.scalers.keys() == first.optimizers.keys(), "fp16 must scale every phase"
    # A start scale other than GradScaler's default 2**16: a resume with a fresh scaler shows.
    first.scalers = {p: torch.amp.GradScaler("cuda", init_scale=2.0**10) for p in first.scalers}
    scaled = []
    for phase, scaler in first.scalers.items():

        def counted(loss, original=scaler.scale, phase=phase):
            scaled.append(phase)
            return original(loss)

        monkeypatch.setattr(scaler, "scale", counted)
    fit_until_killed(first, monkeypatch, completed_steps=3)
    assert sorted(scaled) == ["d"] * 3 + ["g"] * 3
    for name, p in first.model.named_parameters():
        assert p.is_cuda and torch.isfinite(p).all(), name
    _, meta = read_checkpoint(tmp_path / "checkpoints" / "last.safetensors")
    saved = {phase: state["scale"] for phase, state in json.loads(meta["scalers"]).items()}
    assert saved.keys() == first.scalers.keys()
    assert all(0 < scale <= 2.0**10 for scale in saved.values()), saved
    monkeypatch.undo()
    resumed = tiny_trainer("cyclegan", tmp_path, device="cuda", amp="fp16", steps=4)
    assert resumed.step == 2
    assert {phase: s.get_scale() for phase, s in resumed.scalers.items()} == saved
    resumed.fit()
    assert resumed.step == 4

    model = transynth.load(tmp_path)  # CPU by default
    x = torch.rand(2, 1, 16, 16) * 2 - 1
    resumed.model.eval()
    with torch.no_grad():
        on_gpu = resumed.model.translate_tensor(x.cuda(), "AtoB").float().cpu()
        on_cpu = model.translate(x, direction="AtoB")
    assert math.isclose(float((on_gpu - on_cpu).abs().max()), 0.0, abs_tol=1e-4)
