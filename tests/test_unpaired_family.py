"""DualGAN and DiscoGAN specifics: WGAN clipping / n_critic / WGAN-GP, DiscoGAN's schedules,
both directions across channel counts, paper presets."""

from __future__ import annotations

import pytest
import torch
from conftest import make_task, tiny_overrides, tiny_trainer

import transynth
from transynth.config import ConfigError, resolve_config
from transynth.models.discogan import DiscoGenerator, auto_levels, feature_matching_loss
from transynth.registry import get_model_class


def trainer_for(method, tmp_path, task=None, model=None, **train):
    return tiny_trainer(method, tmp_path, task or make_task("unpaired"), model, **train)


def first_batch(trainer):
    return trainer._to_device(next(iter(trainer._loader())))


def critic_params(model):
    return [p for net in (model.D_A, model.D_B) for p in net.parameters()]


# ---- DualGAN ---------------------------------------------------------------------------------
def test_dualgan_clipping_keeps_every_critic_weight_in_range(tmp_path):
    trainer = trainer_for("dualgan", tmp_path, model={"lr": 0.5})  # big steps leave the range
    model = trainer.model
    c = model.config.clip
    assert c == 0.01
    assert all(p.abs().max() <= c for p in critic_params(model)), "critics start clipped"
    batch = first_batch(trainer)
    before = [p.detach().clone() for p in critic_params(model)]
    trainer._run_phase("d", batch)
    after = critic_params(model)
    assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True)), (
        "critic unchanged"
    )
    for p in after:
        assert p.min() >= -c and p.max() <= c
    # batch-norm scales are clipped too, as in the WGAN reference code
    bn = [m for m in model.D_A.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bn and all(m.weight.abs().max() <= c for m in bn)


def test_dualgan_n_critic_phases_and_paper_optimizer(tmp_path):
    trainer = trainer_for("dualgan", tmp_path, model={"n_critic": 3})
    model = trainer.model
    assert model.phases(0) == ("d", "d", "d", "g") == model.phases(7)
    opt = trainer.optimizers["d"]
    assert isinstance(opt, torch.optim.RMSprop) and opt.defaults["lr"] == pytest.approx(5e-5)
    assert model.config.resolved() == ("rmsprop", 5e-5, "batch")


def test_dualgan_critic_phases_of_a_step_share_one_generation(tmp_path):
    trainer = trainer_for("dualgan", tmp_path, model={"n_critic": 3})
    model, batch = trainer.model, first_batch(trainer)
    calls = {"n": 0}
    model.G_AB.register_forward_hook(lambda *_: calls.__setitem__("n", calls["n"] + 1))
    for phase in ("d", "d", "d"):
        trainer._run_phase(phase, batch)
    assert calls["n"] == 1
    losses = trainer._run_phase("g", batch)  # G(u) and G(G_B(v)): two more, fresh
    assert calls["n"] == 3
    assert set(losses) == {"g/gan_AB", "g/gan_BA", "g/recon_A", "g/recon_B"}
    trainer._run_phase("d", batch)  # the generators changed: the next critic phase regenerates
    assert calls["n"] == 4


def test_dualgan_wgan_gp_option(tmp_path):
    trainer = trainer_for("dualgan", tmp_path, model={"gan_mode": "wgan-gp"})
    model = trainer.model
    assert model.config.resolved() == ("adam", 1e-4, "instance")
    assert isinstance(trainer.optimizers["d"], torch.optim.Adam)
    assert any(isinstance(m, torch.nn.InstanceNorm2d) for m in model.D_A.modules())
    losses = model.step("d", first_batch(trainer))
    assert {"gp_A", "gp_B"} <= set(losses)
    assert all(torch.isfinite(losses[k]) and losses[k] >= 0 for k in ("gp_A", "gp_B"))
    # no clipping with the penalty
    with torch.no_grad():
        model.D_A.model[0].weight.fill_(0.5)
    model.after_optimizer_step("d")
    assert model.D_A.model[0].weight.max() == 0.5


@pytest.mark.parametrize("joint", [False, True])
def test_dualgan_joint_batch_scores_real_and_fake_with_one_set_of_statistics(joint, tmp_path):
    trainer = trainer_for("dualgan", tmp_path, model={"joint_batch": joint})
    model, batch = trainer.model, first_batch(trainer)
    model.train()
    real, fake = batch["A"], torch.rand_like(batch["A"]) * 2 - 1
    with torch.no_grad():
        got_real, got_fake = model._score(model.D_A, real, fake)
        together = model.D_A(torch.cat([real, fake]))
        apart = model.D_A(real), model.D_A(fake)
        g_phase = model._score_fake(model.D_A, real, fake)
    n = len(real)
    expected = (together[:n], together[n:]) if joint else apart
    torch.testing.assert_close(got_real, expected[0])
    torch.testing.assert_close(got_fake, expected[1])
    torch.testing.assert_close(g_phase, expected[1])  # G is judged as the critic was trained
    # batch norm makes the two protocols differ: the option is not a no-op
    assert not torch.allclose(together[n:], apart[1])
    losses = trainer._run_phase("d", batch) | trainer._run_phase("g", batch)
    assert all(torch.isfinite(torch.as_tensor(v)) for v in losses.values())


def test_dualgan_gp_refuses_batch_norm_critics():
    with pytest.raises(ConfigError, match="d_norm"):
        resolve_config("dualgan", overrides=["model.gan_mode=wgan-gp", "model.d_norm=batch"])
    with pytest.raises(ConfigError, match="gan_mode"):
        resolve_config("dualgan", overrides=["model.gan_mode=lsgan"])


# ---- DiscoGAN --------------------------------------------------------------------------------
def test_discogan_reconstruction_ramp_and_adversarial_mix_follow_global_step():
    cfg = resolve_config("discogan", preset="paper")
    task = make_task("unpaired", size=16)
    model = get_model_class("discogan")(cfg.model, task.domains, 16)
    assert model.recon_rate(0) == model.recon_rate(9999) == 0.01
    assert model.recon_rate(10000) == model.recon_rate(10**6) == 0.5
    early, late = model.loss_weights(0), model.loss_weights(10000)
    assert early["gan"] == pytest.approx(0.99 * 0.1) and early["fm"] == pytest.approx(0.99 * 0.9)
    assert late["gan"] == pytest.approx(0.5 * 0.1) and late["fm"] == pytest.approx(0.5 * 0.9)
    for w in (early, late):
        assert w["gan"] + w["fm"] + w["recon"] == pytest.approx(1.0)

    # step() reads self.global_step: the same batch and weights give terms scaled accordingly
    a = torch.rand(4, 1, 16, 16) * 2 - 1
    batch = {"A": a, "B": -a.flip(0)}
    terms = {}
    for step in (0, 10000):
        model.global_step = step
        with torch.no_grad():
            terms[step] = model.step("g", batch)
    assert terms[10000]["recon_A"] / terms[0]["recon_A"] == pytest.approx(50.0, rel=1e-4)
    assert terms[10000]["gan_AB"] / terms[0]["gan_AB"] == pytest.approx(0.5 / 0.99, rel=1e-4)
    assert terms[10000]["fm_BA"] / terms[0]["fm_BA"] == pytest.approx(0.5 / 0.99, rel=1e-4)


def test_discogan_cpu_preset_scales_the_curriculum():
    cpu = resolve_config("discogan", preset="cpu")
    assert cpu.model.curriculum_steps < cpu.train.steps
    assert (cpu.model.rate_start, cpu.model.rate_end) == (0.01, 0.5)


def test_discogan_updates_d_once_per_two_generator_updates(tmp_path):
    model = trainer_for("discogan", tmp_path).model
    phases = [model.phases(s) for s in range(6)]
    assert phases == [("g", "d"), ("g",)] * 3
    assert sum(p.count("g") for p in phases) == 2 * sum(p.count("d") for p in phases)


def test_discogan_networks_follow_the_paper():
    assert (auto_levels(64), auto_levels(32), auto_levels(16), auto_levels(48)) == (4, 3, 2, 3)
    cfg = resolve_config("discogan", preset="paper")
    task = make_task("unpaired", size=64, n=2, channels=(3, 3))
    model = get_model_class("discogan")(cfg.model, task.domains, 64)
    assert model.n_levels == 4
    convs = [m for m in model.G_AB.encoder.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [m.out_channels for m in convs] == [64, 128, 256, 512]
    assert all(m.stride == (2, 2) and m.bias is None for m in convs)
    deconvs = [m for m in model.G_AB.decoder.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [m.out_channels for m in deconvs] == [256, 128, 64, 3]
    logits, feats = model.D_A(torch.zeros(2, 3, 64, 64))
    assert logits.shape == (2, 1, 1, 1)  # 4 convs, then one output
    assert [f.shape[1] for f in feats] == [128, 256, 512]
    assert isinstance(DiscoGenerator(1, 1, 8, 3), torch.nn.Module)


def test_feature_matching_is_zero_only_for_matching_batch_means():
    f = [torch.randn(4, 3, 2, 2), torch.randn(4, 5, 1, 1)]
    assert feature_matching_loss(f, [x.flip(0) for x in f]) == pytest.approx(0.0, abs=1e-6)
    assert feature_matching_loss(f, [x + 1 for x in f]) == pytest.approx(2.0)


# ---- both ------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["dualgan", "discogan"])
def test_both_directions_translate_across_channel_counts(method, tmp_path):
    task = make_task("unpaired", channels=(1, 3))
    trainer = trainer_for(method, tmp_path, task=task, steps=2)
    initial = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    trainer.fit()
    model = transynth.load(tmp_path)
    x = torch.rand(2, 1, 16, 16) * 2 - 1
    y = model.translate(x, "AtoB")
    assert y.shape == (2, 3, 16, 16)
    assert model.translate(y, "BtoA").shape == (2, 1, 16, 16)
    # each direction is its own trained generator, reloaded as trained: G_AB maps 1 -> 3
    # channels, G_BA 3 -> 1, and both moved from their initial weights
    live = trainer.model.eval()
    with torch.no_grad():
        torch.testing.assert_close(y, live.G_AB(x).clamp(-1, 1))
        torch.testing.assert_close(model.translate(y, "BtoA"), live.G_BA(y).clamp(-1, 1))
    for name in ("G_AB", "G_BA"):
        moved = [
            k
            for k in initial
            if k.startswith(name) and not torch.equal(initial[k], live.state_dict()[k])
        ]
        assert moved, f"{name} did not train"
    grid, nrow = model.visualize({"A": x, "B": y})
    assert grid.shape == (2 * nrow, 3, 16, 16)


@pytest.mark.parametrize("method", ["dualgan", "discogan"])
def test_paper_presets_hold_the_published_values(method):
    c = resolve_config(method, preset="paper")
    if method == "dualgan":
        assert (c.model.gan_mode, c.model.clip, c.model.n_critic, c.model.lambda_rec) == (
            "wgan",
            0.01,
            3,
            200.0,
        )
        assert c.model.resolved() == ("rmsprop", 5e-5, "batch")
        assert (c.model.num_downs, c.data.image_size, c.train.batch_size) == (8, 256, 1)
    else:
        assert (c.model.lr, c.model.beta1, c.model.weight_decay) == (2e-4, 0.5, 1e-5)
        m = c.model
        assert (m.gan_weight, m.fm_weight, m.curriculum_steps) == (0.1, 0.9, 10000)
        assert (c.data.image_size, c.train.batch_size) == (64, 64)


def test_comparison_table_has_the_unpaired_family():
    rows = {
        line.split()[0]: line.split()[1:]
        for line in transynth.models_table().splitlines()[2:]
        if line.strip()
    }
    for method in ("cyclegan", "dualgan", "discogan"):
        assert rows[method][:4] == ["O", "X", "O", "X"], method


def test_cyclegan_unet_generator_option():
    task = make_task("unpaired", channels=(1, 3))
    overrides = tiny_overrides("cyclegan", {"generator": "unet", "num_downs": 4})
    cfg = resolve_config("cyclegan", overrides=overrides)
    model = get_model_class("cyclegan")(cfg.model, task.domains, task.image_size)
    assert type(model.G_AB).__name__ == "UnetGenerator"
    assert model.translate(torch.zeros(2, 1, 16, 16), "AtoB").shape == (2, 3, 16, 16)
    overrides["model"]["num_downs"] = 5  # 16 px is not divisible by 2^5
    with pytest.raises(ValueError, match="num_downs"):
        model_cfg = resolve_config("cyclegan", overrides=overrides).model
        get_model_class("cyclegan")(model_cfg, task.domains, task.image_size)
    with pytest.raises(ConfigError, match="generator"):
        resolve_config("cyclegan", overrides={"model": {"generator": "vgg"}})
