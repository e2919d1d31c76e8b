"""Shared blocks against the papers' specifications and independent computations."""

from __future__ import annotations

import pytest
import torch

from transynth.losses import discriminator_loss, generator_loss, gradient_penalty
from transynth.nn import ImagePool, PatchDiscriminator, ResnetGenerator, UnetGenerator
from transynth.nn.discriminators import receptive_field


def test_patchgan_default_is_70x70_and_outputs_30x30_at_256():
    assert receptive_field(3) == 70
    d = PatchDiscriminator(6, ndf=4, n_layers=3)
    assert d(torch.zeros(1, 6, 256, 256)).shape == (1, 1, 30, 30)


def test_patchgan_receptive_field_matches_gradient_support():
    """Independent check: the input region that influences one output logit."""
    d = PatchDiscriminator(1, ndf=2, n_layers=2, norm="none")
    x = torch.zeros(1, 1, 64, 64, requires_grad=True)
    out = d(x)
    out[0, 0, out.shape[-2] // 2, out.shape[-1] // 2].backward()
    rows = torch.nonzero(x.grad[0, 0].abs().sum(1)).flatten()
    assert rows.max() - rows.min() + 1 == receptive_field(2) == 34


def test_unet_bottleneck_is_1x1_and_skips_connect():
    g = UnetGenerator(3, 2, num_downs=5, ngf=4)
    assert g(torch.zeros(2, 3, 32, 32)).shape == (2, 2, 32, 32)
    feats = []
    g.down[-1].register_forward_hook(lambda m, i, o: feats.append(o.shape))
    g(torch.zeros(1, 3, 32, 32))
    assert feats[0][-2:] == (1, 1)


def test_resnet_generator_shapes():
    g = ResnetGenerator(1, 3, ngf=4, n_blocks=2)
    assert g(torch.zeros(2, 1, 24, 36)).shape == (2, 3, 24, 36)


def test_gan_losses_against_closed_forms():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    sig = torch.sigmoid
    r, f = discriminator_loss("vanilla", real, fake)
    assert torch.allclose(r, -torch.log(sig(real)).mean())
    assert torch.allclose(f, -torch.log(1 - sig(fake)).mean())
    assert torch.allclose(generator_loss("vanilla", fake), -torch.log(sig(fake)).mean())
    r, f = discriminator_loss("lsgan", real, fake)
    assert torch.allclose(r, ((real - 1) ** 2).mean()) and torch.allclose(f, (fake**2).mean())
    r, f = discriminator_loss("hinge", real, fake)
    assert torch.allclose(r, torch.tensor((0 + 2) / 2)) and torch.allclose(
        f, torch.tensor((1.5 + 0) / 2)
    )
    r, f = discriminator_loss("wgan", real, fake)
    assert torch.allclose(r + f, fake.mean() - real.mean())
    with pytest.raises(ValueError, match="lsgan"):
        generator_loss("bogus", fake)


def test_gradient_penalty_of_a_linear_critic():
    """A linear critic w.x has gradient norm |w| everywhere: penalty (|w| - 1)^2."""
    lin = torch.nn.Linear(12, 1, bias=False)
    critic = torch.nn.Sequential(torch.nn.Flatten(), lin)
    w = lin.weight.detach().norm()
    gp = gradient_penalty(critic, torch.randn(4, 3, 2, 2), torch.randn(4, 3, 2, 2))
    assert torch.allclose(gp, (w - 1) ** 2, atol=1e-5)


def test_image_pool_fills_then_swaps_and_round_trips():
    torch.manual_seed(0)
    pool = ImagePool(3)
    first = torch.arange(3.0).view(3, 1, 1, 1)
    assert torch.equal(pool.query(first), first)  # filling: returned as given
    seen_old = False
    for k in range(20):
        out = pool.query(torch.full((1, 1, 1, 1), 10.0 + k))
        seen_old |= bool(out.item() < 10 + k)
    assert seen_old, "a full pool should sometimes return a stored image"
    clone = ImagePool(3)
    clone.load_state_dict(pool.state_dict())
    assert torch.equal(torch.cat(clone.images), torch.cat(pool.images))


def test_copy_init_starts_domain_specific_layers_as_one_function():
    from torch import nn

    from transynth.nn.init import copy_init

    torch.manual_seed(0)
    gray_in = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())
    rgb_in = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())
    copy_init(rgb_in, gray_in)
    x = torch.randn(2, 1, 8, 8)
    # a gray image repeated over RGB gets the gray network's response, and back
    assert torch.allclose(rgb_in(x.expand(-1, 3, -1, -1)), gray_in(x), atol=1e-5)
    back = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())
    copy_init(back, rgb_in)
    assert torch.allclose(back(x), gray_in(x), atol=1e-5)
    gray_out, rgb_out = nn.ConvTranspose2d(4, 1, 4, 2, 1), nn.ConvTranspose2d(4, 3, 4, 2, 1)
    copy_init(rgb_out, gray_out)
    h = torch.randn(2, 4, 4, 4)
    assert torch.allclose(rgb_out(h), gray_out(h).expand(-1, 3, -1, -1), atol=1e-6)
    with pytest.raises(ValueError, match="channels"):
        copy_init(nn.Conv2d(2, 4, 3), nn.Conv2d(3, 4, 3))
    with pytest.raises(ValueError, match="Linear"):
        copy_init(nn.Linear(3, 4), nn.Conv2d(3, 4, 3))


def _ink_box(x: torch.Tensor) -> tuple[int, int]:
    """(height, width) of the pixels above 0 in one (1, H, W) image."""
    rows, cols = (x[0] > 0).any(1).nonzero()[:, 0], (x[0] > 0).any(0).nonzero()[:, 0]
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def test_geometric_jitter_is_the_identity_at_unit_ranges_and_keeps_shapes():
    from transynth.nn.augment import geometric_jitter

    torch.manual_seed(0)
    x = torch.rand(3, 3, 16, 16) * 2 - 1
    same = geometric_jitter(x, max_scale=1.0, max_aspect=1.0, max_rotation_deg=0, max_shift=0)
    assert torch.allclose(same, x, atol=1e-5)
    assert geometric_jitter(x).shape == x.shape
    with pytest.raises(ValueError, match="max_scale"):
        geometric_jitter(x, max_scale=0.5)


def test_geometric_jitter_scales_both_ways_and_changes_the_aspect():
    """A centred 8x8 square: the scale draws are symmetric (as many shrunk as grown), and with
    only the aspect free the height and width move in opposite directions."""
    from transynth.nn.augment import geometric_jitter

    x = torch.full((400, 1, 32, 32), -1.0)
    x[:, :, 12:20, 12:20] = 1.0
    torch.manual_seed(0)
    grown = geometric_jitter(x, max_aspect=1.0, max_rotation_deg=0, max_shift=0)
    sides = torch.tensor([_ink_box(im)[0] for im in grown], dtype=torch.float)
    assert 0.35 < float((sides > 8).float().mean()) < 0.65  # log-uniform around 1
    assert float(sides.min()) <= 6 and float(sides.max()) >= 11  # reaches about 8/1.5 and 8*1.5
    torch.manual_seed(0)
    stretched = geometric_jitter(x, max_scale=1.0, max_rotation_deg=0, max_shift=0)
    boxes = [_ink_box(im) for im in stretched]
    assert all((h - 8) * (w - 8) <= 0 for h, w in boxes)
    assert any(h < w for h, w in boxes) and any(h > w for h, w in boxes)
