"""DualGAN's opt-in recipe of the later official code: vanilla GAN, one D and two G updates per
step, lambda 20, instance norm; the June-2017 WGAN recipe stays the default."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from conftest import make_task, tiny_trainer

from transynth.config import resolve_config

OFFICIAL_2017_10 = {
    "gan_mode": "vanilla",
    "n_critic": 1,
    "g_updates": 2,
    "lambda_rec": 20.0,
    "norm": "instance",
    "d_norm": "instance",
}


def test_the_default_is_still_the_june_2017_wgan_recipe():
    model = resolve_config("dualgan").model
    assert (model.gan_mode, model.n_critic, model.g_updates, model.lambda_rec) == (
        "wgan",
        3,
        1,
        200.0,
    )


def test_official_recipe_phases_losses_and_no_clipping(tmp_path):
    recipe = {**OFFICIAL_2017_10, "dropout": 0.0}  # deterministic generators for the check below
    trainer = tiny_trainer("dualgan", tmp_path, make_task("unpaired"), recipe)
    model = trainer.model
    assert model.phases(0) == ("d", "g", "g")
    assert model.config.resolved() == ("rmsprop", 5e-5, "instance")
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    batch = trainer._to_device(next(iter(trainer._loader())))

    # the discriminator's loss is the sigmoid cross-entropy of the scores
    model.train()
    d = model.step("d", batch)
    with torch.no_grad():
        real, fake = model.D_A(batch["A"]), model.D_A(model.G_BA(batch["B"]))
    torch.testing.assert_close(
        d["real_A"], F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
    )
    torch.testing.assert_close(
        d["fake_A"], F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
    )
    assert all(v >= 0 for v in d.values())  # cross-entropies, not Wasserstein scores

    # no weight clipping: a large weight survives the critic update
    with torch.no_grad():
        model.D_A.model[0].weight.fill_(0.5)
    model.after_optimizer_step("d")
    assert model.D_A.model[0].weight.max() == 0.5

    # each of the two generator phases updates the generators
    before = [p.detach().clone() for p in model.G_AB.parameters()]
    trainer._run_phase("g", batch)
    middle = [p.detach().clone() for p in model.G_AB.parameters()]
    trainer._run_phase("g", batch)
    after = list(model.G_AB.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, middle, strict=True))
    assert any(not torch.equal(a, b) for a, b in zip(middle, after, strict=True))


def test_official_recipe_trains_end_to_end(tmp_path):
    trainer = tiny_trainer("dualgan", tmp_path, make_task("unpaired"), OFFICIAL_2017_10, steps=2)
    trainer.fit()
    assert trainer.step == 2
