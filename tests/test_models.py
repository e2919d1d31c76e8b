"""Every registered method: forward/backward at tiny size, translation, capabilities."""

from __future__ import annotations

import pytest
import torch
from conftest import task_for, tiny_config, tiny_overrides, tiny_settings

import transynth
from transynth.config import resolve_config
from transynth.registry import get_model_class


def build(method: str, task):
    cfg = resolve_config(method, overrides=tiny_overrides(method))
    return get_model_class(method)(cfg.model, task.domains, task.image_size)


def batch_of(task, n: int = 2) -> dict[str, torch.Tensor]:
    from transynth.data.types import SampleIndex

    items = [task.train[SampleIndex(i, tuple(i for _ in task.train.index_sizes))] for i in range(n)]
    return torch.utils.data.default_collate(items)


@pytest.mark.parametrize("method", transynth.list_models())
def test_every_method_has_its_presets(method):
    from transynth.config import PRESETS, preset_path

    for preset in PRESETS:  # configs/<method>/{cpu,paper,tiny}.yaml
        assert preset_path(method, preset).is_file()
    assert tiny_settings(method)["model"], f"{method}'s tiny preset sets no network sizes"


@pytest.mark.parametrize("method", transynth.list_models())
def test_phases_give_finite_losses_and_gradients(method):
    task = task_for(method)
    model = build(method, task)
    batch = batch_of(task)
    specs = model.optimizers()
    for phase in model.phases(0):
        nets = model.networks()
        for name, net in nets.items():
            net.requires_grad_(name in specs[phase].networks)
            net.zero_grad(set_to_none=True)
        losses = model.step(phase, batch)
        assert losses, f"{method}/{phase} returned no loss terms"
        total = sum(losses.values())
        assert torch.isfinite(total)
        total.backward()
        for name in specs[phase].networks:
            grads = [p.grad for p in nets[name].parameters() if p.grad is not None]
            assert grads and any(g.abs().sum() > 0 for g in grads), f"{name} got no gradient"
        for name in set(nets) - set(specs[phase].networks):
            assert all(p.grad is None for p in nets[name].parameters()), f"{name} should be frozen"


# Only the methods that translate (the generators from noise have no translate to test).
TRANSLATORS = [m for m in transynth.list_models() if get_model_class(m).capabilities.translates]


@pytest.mark.parametrize("method", TRANSLATORS)
def test_translate_accepts_any_size_and_pil(method):
    task = task_for(method)
    model = build(method, task)
    directions = ["AtoB", "BtoA"] if model.capabilities.bidirectional else ["AtoB"]
    for direction in directions:
        src = 0 if direction == "AtoB" else 1
        dst = 1 - src
        x = torch.rand(3, task.domains[src].channels, 21, 27) * 2 - 1
        y = model.translate(x, direction)
        assert y.shape == (3, task.domains[dst].channels, 21, 27)
        assert y.min() >= -1 and y.max() <= 1
    from PIL import Image

    out = model.translate(Image.new("RGB", (19, 13), (200, 30, 30)))
    assert out.size == (19, 13)
    if not model.capabilities.bidirectional:
        with pytest.raises(ValueError, match="direction"):
            model.translate(torch.zeros(1, task.domains[0].channels, 16, 16), "BtoA")


@pytest.mark.parametrize("method", transynth.list_models())
def test_visualize_grid(method):
    task = task_for(method)
    model = build(method, task).eval()
    grid, nrow = model.visualize(batch_of(task, 3))
    assert grid.shape[1] == 3 and grid.shape[0] == 3 * nrow


def test_comparison_table_rows_follow_the_lecture():
    table = transynth.models_table()
    rows = {line.split()[0]: line.split()[1:] for line in table.splitlines()[2:] if line.strip()}
    # Lecture: Pix2pix X X X X | CycleGAN O X O X (unpaired, multi-domain, bi-direction, joint)
    assert rows["pix2pix"][:4] == ["X", "X", "X", "X"]
    assert rows["cyclegan"][:4] == ["O", "X", "O", "X"]


def test_cyclegan_identity_is_skipped_across_channel_counts():
    from conftest import make_task

    task = make_task("unpaired", channels=(1, 3))
    model = build("cyclegan", task)
    assert not model.identity_active
    losses = model.step("g", batch_of(task))
    assert "idt_A" not in losses and "cycle_A" in losses


def test_pix2pix_l1_only_ablation_skips_the_discriminator(paired_task):
    cfg = tiny_config("pix2pix", {"lambda_gan": 0.0})
    model = get_model_class("pix2pix")(cfg.model, paired_task.domains, 16)
    assert model.phases(0) == ("g",)
    assert set(model.step("g", batch_of(paired_task))) == {"l1"}


def test_pix2pix_rejects_an_image_size_the_unet_cannot_take(paired_task):
    cfg = resolve_config("pix2pix")
    with pytest.raises(ValueError, match="num_downs"):
        get_model_class("pix2pix")(cfg.model, paired_task.domains, 48)


def test_unknown_method_lists_known_ones():
    with pytest.raises(ValueError, match="cyclegan"):
        get_model_class("nope")
