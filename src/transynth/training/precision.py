"""Which precision a run computes in: `train.amp` resolved against the device it runs on.

bf16 autocast pays only where the hardware multiplies bf16 natively: GPUs with bf16 support and
CPUs with AMX or AVX512-BF16 (oneDNN then runs convolutions on bf16 units). Elsewhere, e.g. an
AVX2-only CPU (most laptops, AMD Zen before Zen 4), oneDNN emulates bf16 by converting to fp32
and back around every operation: the CycleGAN CPU preset then ran 12x slower than plain fp32
(docs/BENCHMARKS.md, "Speed paths"). `train.amp=auto` therefore means bf16 where it is native
and fp32 elsewhere, and an explicit `bf16` on a CPU without it is kept (results stay comparable
with bf16 runs elsewhere) but warned about.
"""

from __future__ import annotations

import warnings

import torch

#: How a resolved mode reads in progress bars and reports.
PRECISION_NAMES = {"none": "fp32", "bf16": "bf16 autocast", "fp16": "fp16 autocast"}


def _cpu_probe(name: str) -> bool:
    # torch.cpu's capability probes are private helpers; a torch without them reads as "no".
    probe = getattr(torch.cpu, name, None)
    try:
        return bool(probe()) if callable(probe) else False
    except RuntimeError:
        return False


def native_bf16(device: torch.device) -> bool:
    """Whether `device` computes bf16 matrix products natively (not emulated in fp32)."""
    if device.type == "cuda":
        try:
            return torch.cuda.is_bf16_supported(including_emulation=False)
        except TypeError:  # torch < 2.4 has no emulation flag and reports native support only
            return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return _cpu_probe("_is_amx_tile_supported") or _cpu_probe("_is_avx512_bf16_supported")
    return False


def resolve_amp(amp: str, device: torch.device) -> str:
    """The autocast mode a run uses: ``none``, ``bf16`` or ``fp16``.

    ``auto`` becomes ``bf16`` where `device` has native bf16 and ``none`` (fp32) elsewhere;
    the other modes are returned as given, with a warning for ``bf16`` on a CPU that emulates it.
    """
    if amp == "auto":
        return "bf16" if native_bf16(device) else "none"
    if amp == "bf16" and device.type == "cpu" and not native_bf16(device):
        warnings.warn(
            "train.amp=bf16 on a CPU without AMX or AVX512-BF16: bf16 is emulated here and is "
            "typically several times slower than fp32; train.amp=auto picks fp32 on this CPU",
            RuntimeWarning,
            stacklevel=2,
        )
    return amp
