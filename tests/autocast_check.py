"""Does a method's low-precision autocast path compute what fp32 computes, phase by phase?

Shared by tests/test_training.py (bf16 on CPU) and tests/test_cuda.py (bf16 and fp16 on CUDA).

The tiny test networks are badly conditioned: merely rounding the weights and inputs of an fp32
computation to bf16 moves some generator gradients by 20-50% (ReLU kinks, instance norm over
4x4 maps, L1 terms). So the tolerance of each loss and of each network's gradient is derived
from bf16/fp16 precision as measured on that very computation: the autocast run may deviate
from fp32 by at most ``ROUNDING_FACTOR`` times the deviation of an fp32 run whose operands were
rounded to the low-precision type, plus ``FLOOR_UNITS`` unit roundoffs (autocast also rounds
every intermediate activation, which operand rounding does not). Measured on the CPU (torch
2.13, AVX512 without native bf16): the autocast error is at most 2.8x the rounding error plus
0.02 (infogan D's gradient), losses at most 1.2% apart.
"""

from __future__ import annotations

import torch

#: Layers that autocast runs in low precision (their outputs show which precision ran).
LOW_PRECISION_LAYERS = (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear)
UNIT_ROUNDOFF = {torch.bfloat16: 2.0**-8, torch.float16: 2.0**-11}
ROUNDING_FACTOR = 5.0
FLOOR_UNITS = 16.0
#: The smallest mean |output| of each discriminator after `reinit`: far from the ~0 outputs
#: of the methods' own small-gain inits (cdrd's D_C 1e-7, dualgan's D 2e-5), where every GAN
#: term sits at its constant zero-logit value whatever the precision.
MIN_D_OUTPUT = 0.025


def reinit(model: torch.nn.Module, seed: int = 7) -> None:
    """PyTorch's default init for every conv and linear layer (seeded, so that two models of one
    config get the same weights): discriminators then answer clearly non-zero logits."""
    torch.manual_seed(seed)
    for module in model.modules():
        if isinstance(module, LOW_PRECISION_LAYERS):
            module.reset_parameters()


def round_operands(trainer, dtype: torch.dtype) -> None:
    """Round every parameter of the trainer's model to `dtype` and back (stays fp32)."""
    with torch.no_grad():
        for p in trainer.model.parameters():
            p.copy_(p.to(dtype).float())


def phase_results(trainer, batch: dict, round_to: torch.dtype | None = None) -> dict:
    """Per phase of the method: its losses, each network's flattened gradient, the dtypes the
    conv/linear layers produced, and the smallest mean |output| of the D* networks.

    Each phase runs as the trainer runs it (its networks trainable, the step under the trainer's
    autocast, backward of the fp32 sum outside it) from one seed, so that two trainers of one
    config draw the same noise. `round_to` rounds the floating-point batch tensors first."""
    if round_to is not None:
        batch = {
            k: v.to(round_to).float() if v.is_floating_point() else v for k, v in batch.items()
        }
    dtypes: set[torch.dtype] = set()
    d_outputs: list[float] = []

    def record_dtype(module, inputs, output):
        dtypes.add(output.dtype)

    def record_d(module, inputs, output):
        while isinstance(output, (tuple, list)):
            output = output[0]
        d_outputs.append(float(output.detach().float().abs().mean()))

    model = trainer.model
    hooks = [
        m.register_forward_hook(record_dtype)
        for m in model.modules()
        if isinstance(m, LOW_PRECISION_LAYERS)
    ]
    hooks += [
        net.register_forward_hook(record_d)
        for name, net in model.networks().items()
        if name.startswith("D")
    ]
    results = {}
    try:
        for phase in model.optimizers():
            dtypes.clear()
            d_outputs.clear()
            trainer._set_trainable(phase)
            model.zero_grad(set_to_none=True)
            torch.manual_seed(3)
            with trainer._autocast():
                losses = model.step(phase, batch)
            # fp16: a fixed loss scale, as the trainer's GradScaler applies, so that small
            # gradients do not flush to zero in fp16 (bf16 has fp32's range: no scale)
            scale = 2.0**10 if trainer.amp == "fp16" else 1.0
            (scale * sum(v.float() for v in losses.values())).backward()
            grads: dict[str, list[torch.Tensor]] = {}
            for name, p in model.named_parameters():
                if p.grad is not None:
                    grad = p.grad.float().flatten() / scale
                    grads.setdefault(name.split(".")[0], []).append(grad)
            results[phase] = {
                "losses": {k: v.detach().float().cpu() for k, v in losses.items()},
                "grads": {n: torch.cat(g).cpu() for n, g in grads.items()},
                "dtypes": set(dtypes),
                "d_output": min(d_outputs, default=None),
            }
    finally:
        for h in hooks:
            h.remove()
    return results


def assert_autocast_tracks_fp32(ref: dict, low: dict, rounded: dict, dtype: torch.dtype) -> None:
    """`low` (autocast in `dtype`) ran in `dtype` and agrees with `ref` (fp32) in every phase's
    losses and per-network gradients, within the tolerance derived from `rounded` (fp32 on
    operands rounded to `dtype`); see the module docstring."""
    floor = FLOOR_UNITS * UNIT_ROUNDOFF[dtype]
    assert ref.keys() == low.keys() == rounded.keys()
    for phase, r in ref.items():
        lo, ro = low[phase], rounded[phase]
        assert r["dtypes"] == {torch.float32}, (phase, "the reference is not fp32", r["dtypes"])
        assert lo["dtypes"] == {dtype}, (phase, f"autocast did not run in {dtype}", lo["dtypes"])
        if r["d_output"] is not None:
            assert r["d_output"] > MIN_D_OUTPUT, (phase, "D's outputs are ~0", r["d_output"])
        assert r["losses"].keys() == lo["losses"].keys()
        for k, a in r["losses"].items():
            b, c = lo["losses"][k], ro["losses"][k]
            assert torch.isfinite(b).all(), (phase, k, b)
            tol = ROUNDING_FACTOR * (a - c).abs() + floor * a.abs()
            assert (a - b).abs() <= tol, (phase, k, float(a), float(b), float(tol))
        assert r["grads"].keys() == lo["grads"].keys() and r["grads"], phase
        for net, g in r["grads"].items():
            norm = g.norm()
            error = (g - lo["grads"][net]).norm() / norm
            rounding = (g - ro["grads"][net]).norm() / norm
            tol = ROUNDING_FACTOR * rounding + floor
            assert error <= tol, (phase, net, float(error), float(tol))
