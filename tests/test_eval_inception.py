"""The FID Inception-v3 rebuilt without torchvision: architecture, local loading, evaluation."""

from __future__ import annotations

import types

import pytest
import torch
from conftest import make_task

from transynth.capabilities import UNPAIRED_BIDIRECTIONAL
from transynth.eval import inception as inc
from transynth.eval.translation import evaluate_translation


@pytest.fixture(scope="module")
def net() -> inc.FIDInceptionV3:
    torch.manual_seed(0)
    return inc.FIDInceptionV3().eval()


def test_architecture_matches_inception_v3_without_aux_head(net):
    # torchvision's inception_v3 has 27,161,264 parameters with its auxiliary head (3,326,696)
    # and a 1000-way fc; the FID graph has no aux head and a 1008-way fc (+8 * 2049).
    assert sum(p.numel() for p in net.parameters()) == 27_161_264 - 3_326_696 + 8 * 2049
    assert all(m.eps == 1e-3 for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d))


def test_features_are_pool3_for_any_size_and_gray_equals_repeated_rgb(net):
    gray = torch.rand(2, 1, 28, 28) * 2 - 1
    with torch.no_grad():
        f_gray = net(gray)
        f_rgb = net(gray.expand(-1, 3, -1, -1))
        f_odd = net(torch.rand(1, 3, 45, 61) * 2 - 1)
    assert f_gray.shape == (2, inc.FEATURE_DIM) and f_odd.shape == (1, inc.FEATURE_DIM)
    assert torch.allclose(f_gray, f_rgb)


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_local_weights_load_strictly_and_reproduce_the_features(net, tmp_path, suffix):
    path = tmp_path / f"weights{suffix}"
    state = {k: v.clone() for k, v in net.state_dict().items()}
    if suffix == ".pth":
        torch.save(state, path)
    else:
        from safetensors.torch import save_file

        save_file(state, str(path))
    loaded = inc.load_inception(path)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.equal(loaded(x), net(x))


def test_wrong_weights_are_refused_with_what_differs(net, tmp_path):
    state = dict(net.state_dict())
    state["AuxLogits.fc.weight"] = torch.zeros(1000, 768)
    del state["Mixed_7c.branch_pool.conv.weight"]
    path = tmp_path / "other.pth"
    torch.save(state, path)
    with pytest.raises(ValueError, match="1 missing keys.*Mixed_7c.*1 unexpected.*AuxLogits"):
        inc.load_inception(path)
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="garbage.pth"):
        inc.load_inception(garbage)
    with pytest.raises(FileNotFoundError, match="pt_inception"):
        inc.load_inception(tmp_path / "missing.pth")


def test_evaluation_adds_inception_fid_even_without_an_evaluator(net, tmp_path, monkeypatch):
    path = tmp_path / "w.pth"
    torch.save(net.state_dict(), path)
    monkeypatch.setattr(inc, "_MEMO", {})
    task = make_task("unpaired", size=16)
    identity = types.SimpleNamespace(
        capabilities=UNPAIRED_BIDIRECTIONAL, translate=lambda x, direction: x
    )
    # toy domains have no digit evaluator: the task's own judges score them, without Inception
    plain = evaluate_translation(identity, task, max_images=2)
    assert "AtoB/realism" in plain and not any("inception" in k for k in plain)
    scores = evaluate_translation(identity, task, max_images=2, inception_weights=str(path))
    added = {k: v for k, v in scores.items() if k not in plain}
    assert set(added) == {f"{d}/inception_{m}" for d in ("AtoB", "BtoA") for m in ("fid", "kid")}
    assert all(v == v and v >= -1e-6 for v in added.values())  # finite, non-negative (KID ~)
    monkeypatch.setenv(inc.ENV_VAR, str(path))  # what `transynth evaluate --inception-weights` sets
    assert inc.inception_from_env_or(None) is inc.inception_from_env_or(str(path))
    x = task.test.domain_tensors(0)[0][:2]
    same = inc.inception_features(inc.load_inception(path), x)
    from transynth.eval.metrics import fid_from_features

    assert fid_from_features(same, same) == pytest.approx(0.0, abs=1e-6)
