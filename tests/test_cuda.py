"""CUDA correctness: the GPU path computes what the CPU path computes, and the GPU speed paths
(bf16 and fp16 autocast, fp16's gradient scaler) track fp32. Skipped where no CUDA device is
visible; `benchmarks/device_check.sh` runs these on a lent GPU."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import (
    assert_gradients_close,
    fit_until_killed,
    task_for,
    tiny_trainer,
)

import transynth
from transynth.training import Trainer

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

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
    """Dropout off, so that DualGAN's G phase draws no random numbers either."""
    model = {"dropout": 0.0} if method == "dualgan" else None
    return tiny_trainer(method, "unused", task, model, device=device)


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
        _g_phase(_trainer(method, device, task)) for device in ("cpu", "cuda")
    )
    assert l_cpu.keys() == l_gpu.keys()
    for k in l_cpu:
        torch.testing.assert_close(l_gpu[k], l_cpu[k], rtol=1e-4, atol=1e-5)
    assert_gradients_close(g_cpu, g_gpu)


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
@pytest.mark.parametrize("method", transynth.list_models())
def test_cuda_autocast_tracks_fp32(method, amp):
    """Every method's G-phase losses under autocast stay within low-precision error of fp32 on
    the same device, from the same random draws."""
    if amp == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    task = task_for(method)
    fp32 = tiny_trainer(method, "a", task=task, device="cuda")
    low = tiny_trainer(method, "b", task=task, device="cuda", amp=amp)
    batch = fp32._to_device(next(iter(fp32._loader())))
    results = []
    for trainer in (fp32, low):
        torch.manual_seed(1)
        with torch.no_grad(), trainer._autocast():
            results.append(trainer.model.step("g", batch))
    for k, ref in results[0].items():
        got = results[1][k].float()
        assert torch.isfinite(got).all(), (k, got)
        assert torch.allclose(ref.float(), got, rtol=0.05, atol=0.02), (k, ref, got)


def test_cuda_fp16_training_scales_gradients_and_resumes(tmp_path, monkeypatch):
    """fp16 trains through the gradient scaler and saves it with the checkpoint; a run killed
    after step 3 resumes from its step-2 checkpoint; the saved model loads onto the CPU and
    translates there as it does on the GPU."""
    first = tiny_trainer(
        "cyclegan", tmp_path, device="cuda", amp="fp16", steps=4, checkpoint_every=2
    )
    assert first.scalers, "fp16 on CUDA must use a gradient scaler"
    fit_until_killed(first, monkeypatch, completed_steps=3)
    for name, p in first.model.named_parameters():
        assert p.is_cuda and torch.isfinite(p).all(), name
    assert all(s.get_scale() > 0 for s in first.scalers.values())
    monkeypatch.undo()
    resumed = tiny_trainer("cyclegan", tmp_path, device="cuda", amp="fp16", steps=4)
    assert resumed.step == 2
    resumed.fit()
    assert resumed.step == 4

    model = transynth.load(tmp_path)  # CPU by default
    x = torch.rand(2, 1, 16, 16) * 2 - 1
    resumed.model.eval()
    with torch.no_grad():
        on_gpu = resumed.model.translate_tensor(x.cuda(), "AtoB").float().cpu()
        on_cpu = model.translate(x, direction="AtoB")
    assert math.isclose(float((on_gpu - on_cpu).abs().max()), 0.0, abs_tol=1e-4)
