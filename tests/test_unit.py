"""UNIT: the shared latent space, weight sharing, and the domain-adaptation metrics."""

from __future__ import annotations

import pytest
import torch
from conftest import make_task, objective_history, tiny_config, tiny_overrides, tiny_settings
from oracles import constant_logits, quadrant_logits

import transynth
from transynth.config import ConfigError, resolve_config
from transynth.data.types import SampleIndex
from transynth.eval import evaluate, write_figures
from transynth.registry import get_model_class


def build(task, **model):
    cfg = tiny_config("unit", model)
    return get_model_class("unit")(cfg.model, task.domains, task.image_size)


def batch_of(task, n: int = 4) -> dict[str, torch.Tensor]:
    items = [task.train[SampleIndex(i, (i, i))] for i in range(n)]
    return torch.utils.data.default_collate(items)


def test_encode_gives_one_latent_shape_for_both_domains():
    task = make_task("unpaired", channels=(1, 3))
    model = build(task).eval()
    za = model.encode(torch.zeros(2, 1, 16, 16), "A")
    zb = model.encode(torch.zeros(2, 3, 16, 16), "toyB")  # by domain name too
    assert za.shape == zb.shape
    # translation is decoding the shared code into the other domain
    x = torch.rand(2, 1, 16, 16) * 2 - 1
    assert torch.allclose(model.translate_tensor(x, "AtoB"), model.decode(model.encode(x, 0), 1))
    with pytest.raises(ValueError, match="unknown domain"):
        model.encode(za, "C")


def test_shared_layers_are_one_set_of_parameters_used_by_both_domains():
    task = make_task("unpaired")
    model = build(task)
    e1, e2 = model.encoder("A"), model.encoder("B")
    g1, g2 = model.generator("A"), model.generator("B")
    assert e1[1] is e2[1] and g1[0] is g2[0]
    shared = dict(model.E_shared.named_parameters())
    assert {k: v for k, v in e1[1].named_parameters()}.keys() == shared.keys()
    for name, p in e2[1].named_parameters():
        assert p is shared[name]  # the same tensor object, not a copy
    assert e1[0] is not e2[0] and g1[1] is not g2[1]
    # shared_layers = 2 of (2 downsamplings + 1 residual block): the last 2 encoder layers
    assert len(model.E_shared) == 2 and len(model.G_shared) == 2
    # a loss on domain A alone and one on domain B alone both reach the shared parameters
    for domain, channels in ((0, 1), (1, 1)):
        model.zero_grad(set_to_none=True)
        model.encode(torch.rand(2, channels, 16, 16), domain).pow(2).mean().backward()
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in shared.values())
        private = model.E_B if domain == 0 else model.E_A
        assert all(p.grad is None for p in private.parameters())


def test_discriminators_share_their_high_level_layers():
    task = make_task("unpaired")
    model = build(task)
    assert model.D_A[0] is not model.D_B[0]
    assert len(model.D_shared.trunk) == tiny_settings("unit")["model"]["d_shared_layers"]
    # the classifier of either domain ends in the same trunk and class head
    model.zero_grad(set_to_none=True)
    model.classify(torch.rand(2, 1, 16, 16), "B").sum().backward()
    assert all(p.grad is not None for p in model.D_shared.cls.parameters())
    assert all(p.grad is None for p in model.D_A.parameters())


def test_target_labels_are_never_used_in_training():
    task = make_task("unpaired")
    model = build(task)
    batch = batch_of(task)
    torch.manual_seed(0)
    a = {ph: model.step(ph, dict(batch)) for ph in model.phases(0)}
    scrambled = dict(batch, label_B=torch.full_like(batch["label_B"], -1))
    torch.manual_seed(0)
    b = {ph: model.step(ph, scrambled) for ph in model.phases(0)}
    for ph in a:
        for k in a[ph]:
            assert torch.equal(a[ph][k], b[ph][k]), (ph, k)
    assert "cls" in a["d"] and "feat" in a["d"] and "cls" in a["src"]


def test_evaluate_reports_adaptation_and_the_source_only_baseline():
    """Known answers: D's head replaced by each domain's exact quadrant oracle scores 1 on the
    target test and train images and the source test images only if each split goes through
    its own domain's path with its own labels; a source-only baseline that always answers 0
    scores the share of class 0; the via-translation figure is the source oracle's accuracy on
    the target test images translated B -> A."""
    task = make_task("unpaired")
    model = build(task)
    model.train()
    model.classify = lambda x, domain: quadrant_logits(x, int(domain))
    model.source_only_logits = lambda x: constant_logits(len(x), 0)
    metrics = evaluate(model, task)
    (_, y_test_a), (x_test_b, y_test_b) = task.test.domain_tensors(0), task.test.domain_tensors(1)
    _, y_train_b = task.train.domain_tensors(1)
    assert metrics["target_test_accuracy"] == 1.0
    assert metrics["target_train_accuracy_transductive"] == 1.0
    assert metrics["source_test_accuracy"] == 1.0
    assert metrics["num_target_train"] == len(y_train_b) != len(y_test_b)
    assert metrics["source_only/target_test_accuracy"] == pytest.approx(
        float((y_test_b == 0).float().mean())
    )
    assert metrics["source_only/source_test_accuracy"] == pytest.approx(
        float((y_test_a == 0).float().mean())
    )
    assert model.training  # evaluation restores the mode
    model.eval()
    with torch.no_grad():
        via = quadrant_logits(model.translate_tensor(x_test_b, "BtoA"), 0).argmax(1)
    assert metrics["via_translation/target_test_accuracy"] == pytest.approx(
        float((via == y_test_b).float().mean())
    )


def test_without_adaptation_there_is_no_class_head_or_baseline():
    task = make_task("unpaired")
    model = build(task, lambda_cls=0.0)
    assert "S" not in model.networks() and model.phases(0) == ("g", "d")
    assert model.D_shared.cls is None
    assert "target_test_accuracy" not in evaluate(model, task)
    with pytest.raises(ValueError, match="class head"):
        model.classify(torch.zeros(1, 1, 16, 16), 1)


def test_shared_layer_count_is_validated():
    with pytest.raises(ConfigError, match="shared_layers"):
        resolve_config("unit", overrides=["model.shared_layers=9"])
    with pytest.raises(ConfigError, match="d_shared_layers"):
        resolve_config("unit", overrides=["model.d_shared_layers=4"])


def test_capabilities_row_and_figure(tmp_path):
    row = transynth.models_table().splitlines()
    unit = next(line.split() for line in row if line.startswith("unit"))
    assert unit[1:5] == ["O", "X", "O", "O"]  # unpaired, not multi-domain, both ways, joint
    task = make_task("unpaired")
    write_figures(build(task), task, tmp_path)
    assert (tmp_path / "latent_tsne.png").stat().st_size > 0
    assert "shared latent" in (tmp_path / "latent_tsne.txt").read_text()


def test_source_augment_jitters_only_what_the_classifiers_read():
    """With ``source_augment`` the class head and the source-only baseline read jittered copies
    of the labelled sources; the adversarial terms see the same images as without it."""
    task = make_task("unpaired")
    batch = batch_of(task)
    losses = {}
    for augment in (False, True):
        torch.manual_seed(0)
        model = build(task, source_augment=augment)
        losses[augment] = {ph: model.step(ph, dict(batch)) for ph in model.phases(0)}
    plain, jittered = losses[False], losses[True]
    for k in ("real_A", "fake_A", "real_B", "fake_B", "feat"):
        assert torch.equal(plain["d"][k], jittered["d"][k]), k
    assert not torch.allclose(plain["d"]["cls"], jittered["d"]["cls"])
    assert not torch.allclose(plain["src"]["cls"], jittered["src"]["cls"])


def test_gan_batch_feeds_the_vae_gan_a_prefix_and_the_classifiers_everything():
    """``gan_batch`` 2 of a batch of 4: the VAE-GAN terms equal those of the 2-image batch,
    the class head and the baseline read all 4 labelled sources."""
    task = make_task("unpaired")
    batch = batch_of(task, 4)
    prefix = {k: v[:2] for k, v in batch.items()}
    for augment in (False, True):
        losses = {}
        for name, b, gan_batch in (("prefix", prefix, 0), ("option", batch, 2)):
            torch.manual_seed(0)
            model = build(task, gan_batch=gan_batch, source_augment=augment)
            seen = []
            model.E_A.register_forward_hook(lambda m, i, o, seen=seen: seen.append(len(i[0])))
            torch.manual_seed(1)
            losses[name] = {ph: model.step(ph, dict(b)) for ph in model.phases(0)}
            assert seen and max(seen) == 2, seen  # the encoders only ever see 2 images
        option, short = losses["option"], losses["prefix"]
        for k in short["g"]:
            torch.testing.assert_close(option["g"][k], short["g"][k])
        if not augment:  # jitter draws differ with the batch size; the GAN terms do not
            for k in ("real_A", "fake_A", "real_B", "fake_B", "feat"):
                torch.testing.assert_close(option["d"][k], short["d"][k])
        # the classifiers' losses average over 4 labelled images, not 2
        model = build(task, gan_batch=2, source_augment=augment)
        labels = []
        model.D_shared.cls.register_forward_hook(
            lambda m, i, o, seen=labels: seen.append(len(i[0]))
        )
        model.step("g", dict(batch))
        model.step("d", dict(batch))
        assert labels == [4]
    with pytest.raises(ConfigError, match="gan_batch"):
        resolve_config("unit", overrides=["model.gan_batch=1"])


# ---- the official domain-adaptation digit networks (model.arch=digits) -----------------------


def build_digits(task, **model):
    overrides = tiny_overrides("unit")
    overrides["data"] = {"image_size": 32}
    overrides["model"] = {"arch": "digits", "ngf": 4, "ndf": 4, **model}
    cfg = resolve_config("unit", overrides=overrides)
    return get_model_class("unit")(cfg.model, task.domains, task.image_size)


def test_digit_networks_share_a_vector_latent_and_translate_any_size():
    task = make_task("unpaired", size=32, channels=(1, 3))
    model = build_digits(task).eval()
    za = model.encode(torch.rand(2, 1, 32, 32) * 2 - 1, "A")
    zb = model.encode(torch.rand(2, 3, 32, 32) * 2 - 1, "B")
    assert za.shape == zb.shape == (2, 32, 1, 1)  # 8 x ngf channels, one position
    # the official coupling: first encoder layer and last two decoder layers private
    assert len(model.E_A) == 1 and len(model.E_shared) == 3
    assert len(model.G_shared) == 3 and len(model.G_A) == 2
    assert model.encoder("A")[1] is model.encoder("B")[1]
    x = torch.rand(3, 1, 20, 24) * 2 - 1  # the 32x32 networks resize in and back out
    y = model.translate_tensor(x, "AtoB")
    assert y.shape == (3, 3, 20, 24) and y.abs().max() <= 1
    k = task.domains[0].num_classes
    assert model.classify(torch.rand(2, 3, 32, 32), "B").shape == (2, k)


def test_digit_networks_need_32_pixels():
    task = make_task("unpaired", size=16)
    with pytest.raises(ValueError, match="data.image_size=16 is not accepted"):
        build_digits(task)


def test_digit_feature_consistency_reads_the_dropout_free_path():
    task = make_task("unpaired", size=32)
    model = build_digits(task, lambda_feat=0.2, feat_distance="l2").train()
    x = torch.rand(4, 1, 32, 32)
    a, b = model._trunk(x, 0, dropout=False), model._trunk(x, 0, dropout=False)
    assert torch.equal(a, b)  # no dropout: deterministic in training mode
    assert not torch.equal(model._trunk(x, 0), model._trunk(x, 0))  # the scoring path drops
    losses = model.step("g", batch_of(task))
    assert "cyc_A" in losses  # the paper's cycle by default
    d = model.step("d", batch_of(task))
    assert d["feat"] > 0 and {"cls", "real_A", "fake_B"} <= d.keys()


def test_zero_cycle_weights_skip_the_cycle_and_l2_reconstruction_is_mse():
    task = make_task("unpaired", size=32)
    model = build_digits(task, lambda_cyc=0.0, lambda_kl_cyc=0.0, recon_distance="l2")
    torch.manual_seed(0)
    losses = model.step("g", batch_of(task))
    assert not {"cyc_A", "cyc_B", "kl_cyc_A", "kl_cyc_B"} & losses.keys()
    x_a = model._gan_images(batch_of(task))[0]
    squared = (model._cache["x_aa"] - x_a).pow(2).mean()  # the reconstruction G_A(E_A(x_a))
    assert not torch.isclose(squared, (model._cache["x_aa"] - x_a).abs().mean())
    torch.testing.assert_close(losses["recon_A"], model.config.lambda_recon * squared)
    with pytest.raises(ConfigError, match="model.recon_distance='l3'"):
        build_digits(task, recon_distance="l3")


def test_digit_networks_learn_to_reconstruct():
    task = make_task("unpaired", size=32)
    torch.manual_seed(0)
    overrides = tiny_overrides("unit", steps=40)
    overrides["data"] = {"image_size": 32}
    overrides["model"] = {"arch": "digits", "ngf": 4, "ndf": 4, "lr": 2e-3}
    trainer = transynth.training.Trainer(resolve_config("unit", overrides=overrides), "u", task)
    assert trainer.model.monitored_losses == ("g/recon_A", "g/recon_B")
    history = objective_history(trainer, 40)
    assert sum(history[-5:]) < 0.6 * sum(history[:5]), history
