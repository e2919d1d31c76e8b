"""The learned affine warp (`model.warp=affine`): identity at the start, background fill, that it
can learn a re-framing, and its wiring into the unpaired translators (training, saving, loading)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from conftest import tiny_trainer

from transynth.nn.warp import AffineWarp, WarpedGenerator


def _square(size: int = 32, side: int = 12) -> torch.Tensor:
    """A white square centred on a black (-1) page, (1, 1, size, size)."""
    x = torch.full((1, 1, size, size), -1.0)
    lo = (size - side) // 2
    x[..., lo : lo + side, lo : lo + side] = 1.0
    return x


def test_warp_starts_as_the_identity():
    torch.manual_seed(0)
    warp = AffineWarp(3)
    x = torch.rand(4, 3, 16, 20) * 2 - 1
    assert torch.allclose(warp(x), x, atol=1e-5)
    gen = torch.nn.Conv2d(3, 3, 1)
    for at in ("input", "output"):
        assert torch.allclose(WarpedGenerator(warp, gen, at)(x), gen(x), atol=1e-5)
    with pytest.raises(ValueError, match="input | output"):
        WarpedGenerator(warp, gen, "middle")


def test_output_placement_warps_the_generators_output_with_the_inputs_transform():
    torch.manual_seed(0)
    warp = AffineWarp(1)
    with torch.no_grad():
        warp.head_weight.normal_(0, 0.5)
    gen = torch.nn.Conv2d(1, 1, 3, padding=1)
    x = torch.rand(2, 1, 16, 16) * 2 - 1
    expected = AffineWarp.resample(gen(x), warp.theta(x))
    assert torch.allclose(WarpedGenerator(warp, gen, "output")(x), expected)
    assert torch.allclose(WarpedGenerator(warp, gen, "input")(x), gen(warp(x)))


def test_gain_scales_the_output_layer():
    torch.manual_seed(0)
    slow, fast = AffineWarp(1, gain=1.0), AffineWarp(1, gain=10.0)
    fast.load_state_dict(slow.state_dict())
    with torch.no_grad():
        for w in (slow, fast):
            w.head_bias.fill_(0.01)
    identity = torch.tensor([[1.0, 0, 0], [0, 1, 0]])
    offset_slow = (slow.theta(_square()) - identity).abs().max()
    offset_fast = (fast.theta(_square()) - identity).abs().max()
    assert 9 < offset_fast / offset_slow < 10.01  # tanh bends it just below 10


def test_pixels_from_outside_the_frame_take_the_corner_background():
    warp = AffineWarp(1)
    with torch.no_grad():  # zoom out by 2: theta scales output coordinates by 2
        warp.head_bias.copy_(torch.atanh(torch.tensor([0.4, 0, 0, 0, 0.4, 0]) / 0.5))
    theta = warp.theta(_square())
    assert torch.allclose(theta[0], torch.tensor([[1.4, 0, 0], [0, 1.4, 0]]), atol=1e-5)
    out = warp(_square())
    # the border rows come from outside the input frame: they must be the page (-1), not gray (0)
    assert torch.allclose(out[..., 0, :], torch.full((32,), -1.0), atol=1e-5)
    # the square shrank by 1.4 but kept its centre
    bright = (out[0, 0] > 0).float()
    assert 0.35 < bright.sum().item() / (12 * 12) < 0.65
    assert bright[16, 16] == 1


def test_offsets_are_bounded():
    warp = AffineWarp(1, max_offset=0.3)
    with torch.no_grad():
        warp.head_bias.fill_(50.0)
    assert (warp.theta(_square()) - torch.tensor([[1.0, 0, 0], [0, 1, 0]])).abs().max() <= 0.3001
    with pytest.raises(ValueError, match="max_offset"):
        AffineWarp(1, max_offset=0)
    with pytest.raises(ValueError, match="gain"):
        AffineWarp(1, gain=-1)


def test_the_warp_learns_to_undo_a_rescaling():
    """Trained on (small square -> large square) pairs alone, the warp must learn to zoom in."""
    torch.manual_seed(0)
    warp = AffineWarp(1)
    small, large = _square(side=10), _square(side=18)
    opt = torch.optim.Adam(warp.parameters(), lr=3e-3)
    start = F.l1_loss(warp(small), large).item()
    for _ in range(100):
        opt.zero_grad()
        loss = F.l1_loss(warp(small), large)
        loss.backward()
        opt.step()
    assert loss.item() < 0.3 * start
    scale = warp.theta(small)[0, 0, 0].item()
    assert 0.45 < scale < 0.7  # 10/18 = 0.56: output coordinates shrink to read the small square


@pytest.mark.parametrize("method", ["cyclegan", "dualgan", "discogan"])
def test_translators_with_the_warp_train_save_and_reload(method, tmp_path):
    import transynth
    from transynth.config import resolve_config

    assert resolve_config(method).model.warp == "none"  # off unless asked for
    trainer = tiny_trainer(method, tmp_path / "run", model={"warp": "affine"}, steps=3)
    assert isinstance(trainer.model.G_AB, WarpedGenerator)
    assert isinstance(trainer.model.G_BA, WarpedGenerator)
    before = trainer.model.G_AB.warp.head_weight.detach().clone()
    trainer.fit()
    after = trainer.model.G_AB.warp.head_weight.detach()
    assert not torch.equal(before, after), "the warp must be trained with G"
    loaded = transynth.load(tmp_path / "run")
    assert isinstance(loaded.G_AB, WarpedGenerator)
    assert torch.equal(loaded.G_AB.warp.head_weight, after)


def test_cyclegan_rejects_an_unknown_warp():
    from transynth.config import resolve_config

    with pytest.raises(ValueError, match="model.warp"):
        resolve_config("cyclegan", overrides={"model": {"warp": "perspective"}})
