"""Domain evaluators: architecture, channel conversion, training, caching and warnings."""

from __future__ import annotations

import json
import warnings

import pytest
import torch

import transynth.eval.classifier as clf
from transynth.eval.classifier import DomainClassifier, get_evaluator, to_channels


def _bars(n: int, size: int, seed: int, random_labels: bool = False):
    """Two synthetic classes: a horizontal bar (0) or a vertical bar (1) at a random position."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 2, (n,), generator=g)
    x = torch.full((n, 1, size, size), -1.0)
    pos = torch.randint(size // 4, 3 * size // 4, (n,), generator=g)
    for i in range(n):
        p = int(pos[i])
        if labels[i] == 0:
            x[i, 0, p - 1 : p + 2, 2:-2] = 1.0
        else:
            x[i, 0, 2:-2, p - 1 : p + 2] = 1.0
    x = (x + 0.2 * torch.randn(x.shape, generator=g)).clamp(-1, 1)
    if random_labels:
        labels = torch.randint(0, 2, (n,), generator=g)
    return x, labels.long()


@pytest.fixture
def tiny(monkeypatch, tmp_path):
    """Synthetic load_domain, a fresh cache dir and a short training protocol."""
    calls: list[tuple[str, str, int]] = []

    def fake_load_domain(name: str, split: str, image_size: int):
        calls.append((name, split, image_size))
        seed = 0 if split == "train" else 1
        return _bars(128 if split == "train" else 64, image_size, seed, name == "noise")

    monkeypatch.setattr(clf, "load_domain", fake_load_domain)
    monkeypatch.setenv("TRANSYNTH_CACHE", str(tmp_path))
    monkeypatch.setattr(clf, "cache_dir", lambda: tmp_path)
    monkeypatch.setitem(clf.TRAINING, "min_steps", 40)
    monkeypatch.setitem(clf.TRAINING, "max_steps", 40)
    monkeypatch.setitem(clf.TRAINING, "batch_size", 32)
    clf.clear_evaluator_memo()
    yield calls
    clf.clear_evaluator_memo()


@pytest.mark.parametrize("size", [16, 28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_classifier_shapes(size: int, channels: int) -> None:
    model = DomainClassifier(channels, 10).eval()
    x = torch.rand(2, channels, size, size) * 2 - 1
    assert model(x).shape == (2, 10)
    assert model.features(x).shape == (2, model.feature_dim)
    assert model.embed(x, batch_size=1).shape == (2, model.feature_dim)


def test_to_channels() -> None:
    gray = torch.rand(2, 1, 4, 4) * 2 - 1
    rgb = to_channels(gray, 3)
    assert rgb.shape == (2, 3, 4, 4) and torch.equal(rgb[:, 1], gray[:, 0])
    torch.testing.assert_close(to_channels(rgb, 1), gray)  # luminance weights sum to 1
    assert to_channels(gray, 1) is gray


def test_get_evaluator_trains_caches_and_reloads(tiny, tmp_path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a strong evaluator does not warn
        model = get_evaluator("bars", 16, 3)
    assert model.in_channels == 3 and model.image_size == 16
    assert model.test_accuracy >= 0.97
    weights = tmp_path / "evaluators" / "bars-16px-3c-v1.safetensors"
    info = json.loads((tmp_path / "evaluators" / "bars-16px-3c-v1.json").read_text())
    assert weights.is_file() and info["test_accuracy"] == model.test_accuracy
    assert info["num_classes"] == 2
    assert not [p for p in (tmp_path / "evaluators").iterdir() if p.suffix == ".tmp"]
    assert sorted(c[1] for c in tiny) == ["test", "train"]

    # same process: the same object; new process (memo cleared): reloaded from disk, not retrained
    assert get_evaluator("bars", 16, 3) is model
    clf.clear_evaluator_memo()
    reloaded = get_evaluator("bars", 16, 3)
    assert reloaded is not model and len(tiny) == 2
    assert reloaded.test_accuracy == model.test_accuracy
    loaded = reloaded.state_dict()
    for k, v in model.state_dict().items():
        assert torch.equal(v, loaded[k]), k
    x, _ = _bars(8, 16, 5)
    torch.testing.assert_close(model.logits(x), reloaded.logits(x), rtol=0, atol=0)


def test_an_evaluator_trained_inside_an_evaluation_is_the_same(tiny) -> None:
    """Methods ask for evaluators inside no_grad (and autocast) evaluations: the first such call
    on a machine trains the evaluator, which must neither fail nor differ from a plain call."""
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        inside = get_evaluator("bars", 16, 1)
    state = {k: v.clone() for k, v in inside.state_dict().items()}
    clf.clear_evaluator_memo()
    for path in (clf.cache_dir() / "evaluators").iterdir():
        path.unlink()
    plain = get_evaluator("bars", 16, 1)
    assert len(tiny) == 4  # trained twice
    for k, v in plain.state_dict().items():
        assert torch.equal(v, state[k]), k


def test_weak_evaluator_warns(tiny) -> None:
    with pytest.warns(UserWarning, match="too weak"):
        model = get_evaluator("noise", 16, 1)
    assert model.test_accuracy < 0.97


def test_corrupt_cache_is_retrained_identically(tiny, tmp_path) -> None:
    first = get_evaluator("bars", 16, 1)
    state = {k: v.clone() for k, v in first.state_dict().items()}
    (tmp_path / "evaluators" / "bars-16px-1c-v1.safetensors").write_bytes(b"garbage")
    clf.clear_evaluator_memo()
    second = get_evaluator("bars", 16, 1)
    assert len(tiny) == 4  # trained again, from the same seed: the same weights
    for k, v in second.state_dict().items():
        assert torch.equal(v, state[k]), k


@pytest.mark.slow
@pytest.mark.parametrize("domain", ["mnist", "uci-digits"])
def test_real_evaluator_accuracy(domain: str, tmp_path, monkeypatch) -> None:
    """The real embedded domains at 32 px reach the 97% bar (trains ~30-40 s each on 2 cores)."""
    data = pytest.importorskip("transynth.data")
    if not hasattr(data, "load_domain"):
        pytest.skip("transynth.data.load_domain not available")
    monkeypatch.setenv("TRANSYNTH_CACHE", str(tmp_path))
    clf.clear_evaluator_memo()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = get_evaluator(domain, 32, 1)
    assert model.test_accuracy >= 0.97
    clf.clear_evaluator_memo()
