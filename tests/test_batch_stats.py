"""Translation with batch statistics (model.eval_batch_stats of DualGAN and DiscoGAN): batch norm
normalises by the batch at hand, running averages stay untouched, other layers keep their mode."""

from __future__ import annotations

import pytest
import torch
from conftest import make_task, tiny_trainer
from torch import nn

from transynth.nn.batch_stats import batch_statistics


def small_net() -> nn.Sequential:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Dropout(0.5), nn.ReLU())
    net[1].running_mean.fill_(3.0)  # far from the batch's statistics
    return net.eval()


def test_batch_statistics_normalise_by_the_batch_and_leave_the_averages():
    net, x = small_net(), torch.randn(6, 1, 8, 8)
    running = net[1].running_mean.clone(), net[1].running_var.clone()
    with batch_statistics(net):
        got = net(x)
        assert not net[2].training  # dropout stays off
    conv = net[0](x)
    mean, var = (
        conv.mean((0, 2, 3), keepdim=True),
        conv.var((0, 2, 3), unbiased=False, keepdim=True),
    )
    bn = net[1]
    expected = torch.relu(
        (conv - mean) / torch.sqrt(var + bn.eps) * bn.weight.view(1, -1, 1, 1)
        + bn.bias.view(1, -1, 1, 1)
    )
    torch.testing.assert_close(got, expected)
    assert torch.equal(bn.running_mean, running[0]) and torch.equal(bn.running_var, running[1])
    assert not bn.training and bn.track_running_stats  # restored
    assert not torch.allclose(net(x), got)  # running averages again outside the block


def test_disabled_changes_nothing():
    net, x = small_net(), torch.randn(6, 1, 8, 8)
    with batch_statistics(net, enabled=False):
        inside = net(x)
    torch.testing.assert_close(inside, net(x))


@pytest.mark.parametrize("method", ["dualgan", "discogan"])
def test_methods_translate_with_batch_statistics_when_asked(method, tmp_path):
    task = make_task("unpaired")
    model = {"dropout": 0.0}
    plain = tiny_trainer(method, tmp_path / "plain", task, model).model
    stats = tiny_trainer(method, tmp_path / "stats", task, {**model, "eval_batch_stats": True})
    stats = stats.model
    for m in plain.modules():  # running averages that differ from any batch's statistics
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.fill_(0.5)
    stats.load_state_dict(plain.state_dict())
    x = task.test.domain_tensors(0)[0][:4]
    plain.eval()
    with torch.no_grad(), batch_statistics(plain.G_AB):
        expected = plain.G_AB(x)
    got = stats.translate(x, direction="AtoB")
    torch.testing.assert_close(got, expected.float().cpu())
    assert not torch.allclose(plain.translate(x, direction="AtoB"), got)
    before = {k: v.clone() for k, v in stats.state_dict().items()}
    stats.translate(x, direction="BtoA")
    assert all(torch.equal(v, before[k]) for k, v in stats.state_dict().items())
