"""DTN: one-way translation, f pre-trained in the run then frozen, and reloaded with the run."""

from __future__ import annotations

import pytest
import torch
from conftest import make_task, tiny_config, tiny_overrides
from oracles import quadrant_logits

import transynth
from transynth.config import resolve_config
from transynth.eval import evaluate
from transynth.registry import get_model_class
from transynth.training import Trainer


def config(**model):
    return tiny_config("dtn", model)


def test_dtn_is_one_way_and_refuses_btoa():
    task = make_task("unpaired", channels=(3, 1))
    model = get_model_class("dtn")(config().model, task.domains, 16)
    assert not model.capabilities.bidirectional and model.capabilities.joint_representation
    y = model.translate(torch.rand(2, 3, 16, 16) * 2 - 1, "AtoB")
    assert y.shape == (2, 1, 16, 16)
    with pytest.raises(ValueError, match="BtoA"):
        model.translate(torch.zeros(1, 1, 16, 16), "BtoA")
    with pytest.raises(ValueError, match="BtoA"):
        model.translate(torch.zeros(1, 1, 16, 16), model.resolve_direction("toyA"))
    # both domains map into f's space (target images are converted to f's 3 channels)
    assert (
        model.encode(torch.zeros(2, 3, 16, 16)).shape
        == model.encode(torch.zeros(2, 1, 16, 16), 1).shape
    )
    row = next(r.split() for r in transynth.models_table().splitlines() if r.startswith("dtn"))
    assert row[1:5] == ["O", "X", "X", "O"]


def test_f_is_pretrained_then_frozen_and_reloads_with_the_run(tmp_path):
    task = make_task("unpaired", channels=(3, 1))
    cfg = config(f_pretrain_steps=3)
    trainer = Trainer(cfg, tmp_path, task=task)
    model = trainer.model
    assert [model.phases(s) for s in range(5)] == [("f",)] * 3 + [("g", "d")] * 2
    f0 = {k: v.clone() for k, v in model.f.state_dict().items()}
    trainer.config = resolve_config(
        "dtn", overrides={**tiny_overrides("dtn", steps=3), "model": cfg.model.__dict__}
    )
    trainer.fit()
    f3 = {k: v.clone() for k, v in model.f.state_dict().items()}
    assert any(not torch.equal(f0[k], f3[k]) for k in f0), "f trains during pre-training"
    g3 = {k: v.clone() for k, v in model.g.state_dict().items()}
    # resume to step 6: g and D train, f no longer changes
    resumed = Trainer(
        resolve_config(
            "dtn", overrides={**tiny_overrides("dtn", steps=6), "model": cfg.model.__dict__}
        ),
        tmp_path,
        task=task,
    )
    assert resumed.step == 3
    for k, v in resumed.model.f.state_dict().items():
        assert torch.equal(v, f3[k]), "the pre-trained f reloads with the run"
    resumed.fit()
    for k, v in resumed.model.f.state_dict().items():
        assert torch.equal(v, f3[k]), f"f changed after pre-training: {k}"
    assert any(not torch.equal(v, g3[k]) for k, v in resumed.model.g.state_dict().items())
    loaded = transynth.load(tmp_path)
    for k, v in loaded.f.state_dict().items():
        assert torch.equal(v.cpu(), f3[k])


def test_losses_follow_the_paper():
    task = make_task("unpaired", channels=(3, 1))
    model = get_model_class("dtn")(config(gamma=0.5).model, task.domains, 16)
    from transynth.data.types import SampleIndex

    items = [task.train[SampleIndex(i, (i, i))] for i in range(4)]
    batch = torch.utils.data.default_collate(items)
    torch.manual_seed(0)
    g = model.step("g", batch)
    assert set(g) == {"gan", "const", "tid", "tv"}
    # L_TID = beta * MSE(g(f(t)), t), an independent computation
    with torch.no_grad():
        t = batch["B"]
        expected = 15.0 * torch.mean((model.g(model.f(t.expand(-1, 3, -1, -1))) - t) ** 2)
    assert torch.allclose(g["tid"], expected, rtol=1e-4)
    d = model.step("d", batch)
    assert set(d) == {"fake_source", "fake_target", "real_target"}
    f = model.step("f", batch)
    assert set(f) == {"cls"}
    with pytest.raises(ValueError, match="power-of-two"):
        get_model_class("dtn")(config().model, task.domains, 24)


def test_d_reads_the_same_batch_in_the_g_and_d_phases():
    """D has batch norm: G must be judged by the function the D phase trains, i.e. on the same
    [G(x), G(t), t] batch (judged on fakes alone, G chased other batch statistics and
    printed2mnist translation stayed at chance)."""
    task = make_task("unpaired", channels=(3, 1))
    model = get_model_class("dtn")(config().model, task.domains, 16)
    from transynth.data.types import SampleIndex

    batch = torch.utils.data.default_collate([task.train[SampleIndex(i, (i, i))] for i in range(4)])
    seen: list[torch.Tensor] = []
    hook = model.D.register_forward_hook(lambda m, i, o: seen.append(i[0].detach().clone()))
    model.step("g", batch)
    model.step("d", batch)
    hook.remove()
    assert len(seen) == 2 and seen[0].shape[0] == 12
    assert torch.equal(seen[0], seen[1])


def test_evaluate_is_one_way_with_f_accuracy():
    task = make_task("unpaired", channels=(3, 1))
    model = get_model_class("dtn")(config().model, task.domains, 16)
    # Known answers: f's features replaced by the source domain's exact quadrant oracle (and
    # its head by a pass-through) score 1 on the source test images, and on the target test
    # images what that oracle scores there, against each split's own labels.
    model.encode = lambda x: quadrant_logits(x, 0)
    model.f.head = torch.nn.Flatten()
    metrics = evaluate(model, task, evaluator_domain={"toyB": None})
    assert metrics["f/source_test_accuracy"] == 1.0
    x_b, y_b = task.test.domain_tensors(1)
    expected = float((quadrant_logits(x_b, 0).argmax(1) == y_b).float().mean())
    assert expected < 0.5 and metrics["f/target_test_accuracy"] == pytest.approx(expected)
    assert not any(k.startswith("BtoA/") for k in metrics)


def test_f_augmentation_warps_and_grays_source_images():
    from transynth.models.dtn import augment_for_f

    torch.manual_seed(0)
    x = torch.rand(64, 3, 16, 16) * 2 - 1
    y = augment_for_f(x)
    assert y.shape == x.shape and bool(torch.isfinite(y).all())
    assert not torch.allclose(y, x)
    gray = (y[:, 0] == y[:, 1]).flatten(1).all(1) & (y[:, 1] == y[:, 2]).flatten(1).all(1)
    assert 16 <= int(gray.sum()) <= 48  # about half of the images are made gray
    assert augment_for_f(torch.rand(4, 1, 16, 16)).shape == (4, 1, 16, 16)
    task = make_task("unpaired", channels=(3, 1))
    model = get_model_class("dtn")(config(f_augment=True).model, task.domains, 16)
    from transynth.data.types import SampleIndex

    batch = torch.utils.data.default_collate([task.train[SampleIndex(i, (i, i))] for i in range(4)])
    assert torch.isfinite(model.step("f", batch)["cls"])


def test_stroke_augmentation_warps_and_changes_stroke_widths():
    from transynth.models.dtn import elastic_warp, vary_strokes

    torch.manual_seed(0)
    x = torch.full((30, 1, 16, 16), -1.0)
    x[:, :, 4:12, 7:9] = 1.0  # a vertical bar, 2 px wide
    warped = elastic_warp(x)
    assert warped.shape == x.shape and not torch.allclose(warped, x)
    assert float(warped.min()) >= -1 - 1e-5 and float(warped.max()) <= 1 + 1e-5
    assert torch.allclose(elastic_warp(x, alpha_px=0.0), x, atol=1e-5)  # no offset: identity
    ink = (vary_strokes(x) > 0).flatten(1).sum(1)
    assert {int(v) for v in ink} == {16, 0, 40}  # 2 px bar kept, eroded away, dilated to 4 px
    task = make_task("unpaired", channels=(3, 1))
    model = get_model_class("dtn")(config(f_augment_strokes=True).model, task.domains, 16)
    from transynth.data.types import SampleIndex

    batch = torch.utils.data.default_collate([task.train[SampleIndex(i, (i, i))] for i in range(4)])
    assert torch.isfinite(model.step("f", batch)["cls"])
