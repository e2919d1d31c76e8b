"""train.amp=auto: bf16 autocast only where the device multiplies bf16 natively."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import tiny_trainer

from transynth.config import resolve_config
from transynth.training import precision
from transynth.training.precision import native_bf16, resolve_amp

CPU = torch.device("cpu")


@pytest.fixture
def cpu_bf16(monkeypatch):
    """Pretend this CPU has (True) or lacks (False) native bf16."""

    def set_native(native: bool) -> None:
        for probe in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"):
            monkeypatch.setattr(torch.cpu, probe, lambda: False, raising=False)
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: native, raising=False)

    return set_native


@pytest.mark.parametrize("native", [True, False])
def test_auto_is_bf16_only_where_native(cpu_bf16, native):
    cpu_bf16(native)
    assert native_bf16(CPU) is native
    assert resolve_amp("auto", CPU) == ("bf16" if native else "none")


def test_avx512_bf16_alone_counts_as_native(monkeypatch):
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True, raising=False)
    assert native_bf16(CPU)


def test_a_torch_without_the_probes_reads_as_no_native_bf16(monkeypatch):
    for probe in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"):
        monkeypatch.delattr(torch.cpu, probe, raising=False)
    assert not native_bf16(CPU)
    assert resolve_amp("auto", CPU) == "none"


def test_explicit_modes_are_kept_and_emulated_bf16_is_warned_about(cpu_bf16):
    cpu_bf16(False)
    with pytest.warns(RuntimeWarning, match="emulated"):
        assert resolve_amp("bf16", CPU) == "bf16"
    assert resolve_amp("none", CPU) == "none"
    cpu_bf16(True)
    with precision.warnings.catch_warnings():
        precision.warnings.simplefilter("error")
        assert resolve_amp("bf16", CPU) == "bf16"


@pytest.mark.parametrize("native", [True, False])
def test_trainer_autocasts_as_resolved_and_records_it(cpu_bf16, tmp_path, native):
    cpu_bf16(native)
    trainer = tiny_trainer("cyclegan", tmp_path, steps=1, amp="auto", evaluate=True)
    assert trainer.config.train.amp == "auto"  # the saved config stays portable
    expected = "bf16" if native else "none"
    assert trainer.amp == expected
    with trainer._autocast():
        y = trainer.model.G_AB(torch.zeros(1, 1, 16, 16))
    assert y.dtype == (torch.bfloat16 if native else torch.float32)
    trainer.fit()
    assert json.loads((tmp_path / "metrics.json").read_text())["amp"] == expected


def test_every_cpu_preset_that_used_bf16_now_resolves_per_machine():
    for method in ("cyclegan", "infogan", "unit", "cdrd", "stargan", "dtn", "acgan", "ecdrd"):
        assert resolve_config(method, preset="cpu").train.amp == "auto", method


@pytest.mark.parametrize("native", [True, False])
def test_gpus_count_only_native_bf16(monkeypatch, native):
    asked = {}

    def is_bf16_supported(including_emulation: bool = True) -> bool:
        asked["emulation"] = including_emulation
        return native

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", is_bf16_supported)
    assert resolve_amp("auto", torch.device("cuda")) == ("bf16" if native else "none")
    assert asked == {"emulation": False}
