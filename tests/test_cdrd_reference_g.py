"""CDRD / E-CDRD paper preset: the reference code's 28 px generator (model.g_layout=reference)."""

from __future__ import annotations

import pytest
import torch

from transynth.config import resolve_config
from transynth.data import DomainInfo
from transynth.registry import get_model_class

DOMAINS = (DomainInfo("mnist", 1, 10), DomainInfo("uci-digits", 1, 10))


def build(method, preset="paper", overrides=()):
    cfg = resolve_config(method, preset=preset, overrides=list(overrides))
    return get_model_class(method)(cfg.model, DOMAINS, cfg.data.image_size), cfg


@pytest.mark.parametrize("method", ["cdrd", "ecdrd"])
def test_paper_preset_builds_the_reference_generator(method):
    model, cfg = build(method, overrides=["model.g_norm=none"])  # the reference has no G norm
    assert cfg.model.g_layout == "reference" and cfg.data.image_size == 28
    # 4*110*1024 + 9*1024*512 + 9*512*256 + 9*256*128 weights and their biases
    assert sum(p.numel() for p in model.G_C.parameters()) == 6_645_632
    assert sum(p.numel() for p in model.G_S.parameters()) == 4 * 4 * 128 + 1
    sides = []
    h = torch.randn(3, cfg.model.z_dim + 10)
    with torch.no_grad():
        for layer in (*model.G_C, *model.G_S):
            h = layer(h)
            sides.append(h.shape[-1])
    assert sides == [2, 5, 12, 25, 28]
    assert [m.out_channels for m in model.G_C.modules() if hasattr(m, "out_channels")] == [
        1024,
        512,
        256,
        128,
    ]
    assert h.shape == (3, 1, 28, 28) and h.abs().max() <= 1


def test_reference_layout_only_at_28_px():
    with pytest.raises(ValueError, match="g_layout=reference.*28"):
        build("cdrd", preset="cpu", overrides=["model.g_layout=reference"])


def test_unknown_layout_is_a_config_error():
    from transynth.config import ConfigError

    with pytest.raises(ConfigError, match="model.g_layout"):
        resolve_config("cdrd", overrides=["model.g_layout=huge"])
