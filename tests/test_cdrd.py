"""CDRD and E-CDRD: joint sampling, attribute control, translation with a label, the source-only
baseline, the domain-adaptation metrics, figures and the CLI on a tiny run."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from autocast_check import reinit
from conftest import make_task, tiny_config, tiny_trainer
from oracles import constant_logits, quadrant_logits

import transynth
from transynth import cli
from transynth.data.types import DomainInfo, SampleIndex
from transynth.eval import evaluate, write_figures
from transynth.eval.generator_protocols import joint
from transynth.eval.protocols import EvaluationRun
from transynth.registry import get_model_class


def build(method: str, task, **model):
    cfg = tiny_config(method, model)
    return get_model_class(method)(cfg.model, task.domains, task.image_size)


def trained(method: str, steps: int, tmp_path=None, batch_size: int = 2, **model):
    model = {"lr": 2e-3, **model}
    trainer = tiny_trainer(
        method,
        tmp_path or "unused",
        make_task("unpaired"),
        model,
        steps=steps,
        batch_size=batch_size,
    )
    if tmp_path is not None:
        trainer.fit()
        return trainer
    batches = iter(trainer._loader())
    for _ in range(steps):
        batch = trainer._to_device(next(batches))
        for phase in trainer.model.phases(trainer.step):
            trainer._run_phase(phase, batch)
        trainer.step += 1
    return trainer


def test_capabilities_are_the_lectures_last_row():
    table = transynth.models_table()
    rows = {line.split()[0]: line.split()[1:] for line in table.splitlines()[2:] if line.strip()}
    for name in ("cdrd", "ecdrd"):
        assert rows[name] == ["O", "O", "O", "O", "partially", "O"]
    assert get_model_class("ecdrd").conditions == ("label",)


@pytest.mark.parametrize("method", ["cdrd", "ecdrd"])
def test_joint_samples_are_pairs_of_the_same_noise_and_label(method):
    task = make_task("unpaired")
    model = build(method, task).eval()
    out = model.sample(5, labels=3, seed=7)
    assert list(out) == ["toyA", "toyB"]
    assert out["toyA"].shape == (5, 1, 16, 16) and out["toyB"].shape == (5, 1, 16, 16)
    assert torch.equal(out["toyA"], model.sample(5, labels=3, seed=7)["toyA"])  # seeded
    # The pair comes from one shared code: G_S and G_T applied to the same G_C(z, l).
    z = torch.randn(5, model.config.z_dim, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        xs, xt = model.generate(z, torch.full((5,), 3))
    assert torch.allclose(out["toyA"], xs) and torch.allclose(out["toyB"], xt)
    other = model.sample(5, labels=[0, 1, 2, 0, 1], seed=7)
    assert not torch.allclose(other["toyB"], out["toyB"])  # the label changes the images


@pytest.mark.parametrize("channels", [(1, 1), (1, 3)])
def test_tied_init_starts_both_domains_as_one_function(channels):
    task = make_task("unpaired", channels=channels)
    model = build("ecdrd", task, tied_init=True).eval()
    z, labels = torch.randn(3, model.config.z_dim), torch.tensor([0, 1, 0])
    with torch.no_grad():
        x_s, x_t = model.generate(z, labels)
        assert torch.allclose(x_t, x_s.expand_as(x_t), atol=1e-5)
        x = torch.rand(3, 1, task.image_size, task.image_size) * 2 - 1
        x_as_t = x.expand(-1, channels[1], -1, -1)
        assert torch.allclose(
            model.discriminate(x_as_t, 1)[1], model.discriminate(x, 0)[1], atol=1e-4
        )
        assert torch.allclose(model.encode(x_as_t, 1)[0], model.encode(x, 0)[0], atol=1e-4)
    untied = build("cdrd", task).eval()
    with torch.no_grad():
        x_s, x_t = untied.generate(z, labels)
    # relative to the output's scale: at N(0, 0.02) init the images are ~1e-4 in size
    gap = (x_t - x_s.expand_as(x_t)).abs().max()
    assert gap > 0.1 * x_s.abs().max()


def test_bad_labels_and_codes_are_clear_errors():
    model = build("cdrd", make_task("unpaired"))
    with pytest.raises(ValueError, match=r"accepted: 0\.\.3"):
        model.sample(2, labels=4)
    with pytest.raises(ValueError, match="expected one label or 2"):
        model.sample(2, labels=[1, 2, 3])
    with pytest.raises(ValueError, match="no latent codes"):
        model.sample(2, codes={"c1": 1.0})
    with pytest.raises(ValueError, match=r"accepted: 0\.\.3"):
        model.translate(torch.zeros(1, 1, 16, 16), "AtoB", label=9)
    with pytest.raises(ValueError, match="accepted conditions: label"):
        model.translate(torch.zeros(1, 1, 16, 16), "AtoB", attributes={"x": 1})


@pytest.mark.slow
def test_training_makes_the_attribute_control_generation_in_both_domains():
    """After a short run, D's attribute head recognises the requested label in the generated
    images of each domain far above chance (4 classes): the attribute learned from source
    labels controls the target domain too."""
    torch.manual_seed(0)
    small = {"ngf": 16, "d_conv1": 8, "d_conv2": 16, "d_conv3": 32, "emb_dim": 32}
    model = trained("cdrd", 200, batch_size=16, **small).model.eval()
    labels = torch.arange(4).repeat_interleave(16)
    out = model.sample(len(labels), labels=labels, seed=0)
    with torch.no_grad():
        for d, name in enumerate(("toyA", "toyB")):
            pred = model.discriminate(out[name], d)[1].argmax(1)
            assert (pred == labels).float().mean() > 0.6, name


@pytest.mark.parametrize("method", ["cdrd", "ecdrd"])
def test_translate_with_a_chosen_label(method):
    torch.manual_seed(0)
    model = build(method, make_task("unpaired"), invert_steps=10).eval()
    x = torch.rand(3, 1, 21, 27) * 2 - 1
    y2 = model.translate(x, "AtoB", label=2)
    y0 = model.translate(x, "AtoB", label=0)
    assert y2.shape == (3, 1, 21, 27) and y2.abs().max() <= 1
    assert not torch.allclose(y2, y0)
    # label=None keeps the attribute that D's head predicts for each input
    with torch.no_grad():
        pred = model.classify(x, 0).argmax(1)
    torch.manual_seed(1)
    auto = model.translate(x, "AtoB")
    torch.manual_seed(1)
    assert torch.allclose(auto, model.translate(x, "AtoB", label=pred), atol=1e-6)
    assert model.translate(x, "BtoA", label=[1, 2, 3]).shape == (3, 1, 21, 27)


def test_ecdrd_reconstructs_and_cdrd_inverts_through_the_same_generator():
    """E-CDRD's pixel reconstruction term is the L1 distance of x to G_S(G_C(z, l_S)) with z
    drawn from E_C(E_S(x)); CDRD finds z for an image of G's range by inverting G, and both
    translate through G_C and the other domain's generator."""
    task = make_task("unpaired")
    batch = torch.utils.data.default_collate([task.train[SampleIndex(i, (i, i))] for i in range(3)])
    model = build("ecdrd", task).eval()  # eval: no dropout draws, fixed batch statistics
    assert {"E_S", "E_T", "E_C"} <= set(model.optimizers()["g"].networks)
    assert not {"D_S", "D_T", "D_C"} & set(model.optimizers()["g"].networks)
    torch.manual_seed(0)
    with torch.no_grad():
        losses = model.step("g", batch)
        torch.manual_seed(0)
        mu, logvar = model.encode(batch["A"], 0)
        model.encode(batch["B"], 1)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        rec = model.G_S(model.G_C(model._code(z, batch["label_A"])))
    assert mu.shape == (3, model.config.z_dim) == logvar.shape
    expected = model.config.lambda_rec_pixel * (rec - batch["A"]).abs().mean()
    torch.testing.assert_close(losses["rec_pix_S"], expected)

    cdrd = build("cdrd", task, invert_steps=300).eval()
    reinit(cdrd)  # the paper's small init makes G's image all but independent of z
    labels = torch.tensor([0, 3])
    torch.manual_seed(1)
    z_true = torch.randn(2, cdrd.config.z_dim)
    with torch.no_grad():
        x = cdrd._render(z_true, labels, 0)
        start_error = (cdrd._render(torch.zeros_like(z_true), labels, 0) - x).pow(2).mean()
    weights = {k: v.clone() for k, v in cdrd.state_dict().items()}
    z = cdrd._latent(x, labels, 0)
    assert all(torch.equal(v, cdrd.state_dict()[k]) for k, v in weights.items())  # only z moves
    with torch.no_grad():
        error = (cdrd._render(z, labels, 0) - x).pow(2).mean()
        assert error < 0.25 * start_error, (float(error), float(start_error))
        torch.manual_seed(2)
        translated = cdrd.translate(x, "AtoB", label=labels)
        torch.testing.assert_close(translated, cdrd._render(z, labels, 1).clamp(-1, 1))


def test_source_only_baseline_is_its_own_network_and_phase():
    torch.manual_seed(0)
    trainer = trained("cdrd", 1)
    model = trainer.model
    assert model.optimizers()["src"].networks == ("C_src",)
    assert "src" in model.phases(0)
    batch = trainer._to_device(next(iter(trainer._loader())))
    d_before = {k: v.clone() for k, v in model.D_C.state_dict().items()}
    losses = [float(trainer._run_phase("src", batch)["src/cls_S"]) for _ in range(30)]
    assert losses[-1] < 0.5 * losses[0]
    assert all(torch.equal(v, model.D_C.state_dict()[k]) for k, v in d_before.items())
    off = build("cdrd", make_task("unpaired"), source_only=False)
    assert "src" not in off.optimizers() and "src" not in off.phases(0)


@pytest.mark.parametrize("method", ["cdrd", "ecdrd"])
def test_evaluate_reports_domain_adaptation_and_the_source_only_baseline(method):
    """Known answers: D_C's head replaced by each domain's exact quadrant oracle scores 1 on the
    target test and train images (and the source test images) only if each split is read
    through its own domain's path with its own labels; a source-only baseline that always
    answers class 0 scores the share of class 0 in each split."""
    torch.manual_seed(0)
    task = make_task("unpaired")
    model = build(method, task)
    model.classify = lambda x, domain: quadrant_logits(x, domain)
    model.source_only_logits = lambda x: constant_logits(len(x), 0)
    metrics = evaluate(model, task)
    (_, y_test_a), (_, y_test_b) = task.test.domain_tensors(0), task.test.domain_tensors(1)
    _, y_train_b = task.train.domain_tensors(1)
    assert metrics["target_test_accuracy"] == 1.0
    assert metrics["target_train_accuracy_transductive"] == 1.0
    assert metrics["source_test_accuracy"] == 1.0
    assert metrics["num_target_train"] == len(y_train_b) != len(y_test_b)
    share0 = {k: float((y == 0).float().mean()) for k, y in (("a", y_test_a), ("b", y_test_b))}
    assert metrics["source_only/target_test_accuracy"] == pytest.approx(share0["b"])
    assert metrics["source_only/source_test_accuracy"] == pytest.approx(share0["a"])
    assert metrics["source_only/target_train_accuracy_transductive"] == pytest.approx(
        float((y_train_b == 0).float().mean())
    )
    wrong_way = quadrant_logits(task.test.domain_tensors(1)[0], 0).argmax(1)
    assert float((wrong_way == y_test_b).float().mean()) < 0.5  # the oracles need their domain
    assert model.training  # evaluation restores the mode


def test_joint_metrics_judge_each_domain_with_its_evaluator(monkeypatch):
    """Evaluator plumbing: a fake evaluator that always answers class 0 scores exactly 1/K on
    each domain and full agreement between the two domains of each pair."""
    import transynth.eval.classifier as classifier

    class Always0:
        test_accuracy = 0.99

        def logits(self, x, batch_size=512):
            out = torch.zeros(len(x), 4)
            out[:, 0] = 1
            return out

    calls = []

    def fake_get_evaluator(name, size, channels, *, device="cpu", seed=0):
        calls.append((name, size, channels))
        return Always0()

    monkeypatch.setattr(classifier, "get_evaluator", fake_get_evaluator)
    task = make_task("unpaired")
    task = dataclasses.replace(
        task, domains=(DomainInfo("mnist", 1, 4), DomainInfo("uci-digits", 1, 4))
    )
    model = build("cdrd", task)
    metrics = joint(EvaluationRun(model, task), per_class=3)
    assert calls == [("mnist", 16, 1), ("uci-digits", 16, 1)]
    assert metrics["joint/mnist/conditional_accuracy"] == pytest.approx(0.25)
    assert metrics["joint/uci-digits/conditional_accuracy"] == pytest.approx(0.25)
    assert metrics["joint/pair_agreement"] == 1.0


def test_figures_tsne_and_joint_grid(tmp_path):
    model = build("ecdrd", make_task("unpaired")).eval()
    write_figures(model, make_task("unpaired"), tmp_path)
    for name in ("tsne_dc_features", "joint_samples", "translation_with_attribute"):
        assert (tmp_path / f"{name}.png").stat().st_size > 0
        assert (tmp_path / f"{name}.txt").read_text()


@pytest.mark.parametrize("method", ["cdrd", "ecdrd"])
def test_cli_sample_and_translate_with_a_label(method, tmp_path):
    from PIL import Image

    torch.manual_seed(0)
    trained(method, 2, tmp_path / "run", invert_steps=5)
    out = tmp_path / "samples"
    assert (
        cli.main(["sample", str(tmp_path / "run"), "--n", "4", "--label", "3", "--out", str(out)])
        == 0
    )
    assert sorted(p.name for p in out.iterdir()) == [
        "grid.png",
        *[f"toyA_{i:04d}.png" for i in range(4)],
        *[f"toyB_{i:04d}.png" for i in range(4)],
    ]
    img = tmp_path / "digit.png"
    Image.new("L", (20, 18), 30).save(img)
    out = tmp_path / "translated"
    argv = ["translate", str(tmp_path / "run"), str(img), "--to", "toyB", "--label", "1"]
    assert cli.main([*argv, "--out", str(out)]) == 0
    result = Image.open(out / "digit_toyB_label1.png")
    assert result.size == (20, 18)
    assert cli.main([*argv[:-1], "7", "--out", str(out)]) == 2  # out of range: a clear error


@pytest.mark.parametrize("method", ["cdrd", "ecdrd"])
def test_source_augment_jitters_only_what_the_classifiers_read(method):
    """With ``source_augment`` the attribute head's real-source term and the source-only
    baseline read jittered sources; every adversarial and generated-image term is unchanged."""
    task = make_task("unpaired")
    batch = {k: v[:4] for k, v in next(iter(trained(method, 1, batch_size=4)._loader())).items()}
    losses = {}
    for augment in (False, True):
        torch.manual_seed(0)
        model = build(method, task, source_augment=augment, init_gain=0.5)  # non-flat heads
        losses[augment] = {ph: model.step(ph, dict(batch)) for ph in model.phases(0)}
    plain, jittered = losses[False], losses[True]
    for k in ("real_S", "fake_S", "real_T", "fake_T", "cls_fake_S", "cls_fake_T"):
        assert torch.equal(plain["d"][k], jittered["d"][k]), k
    assert not torch.allclose(plain["d"]["cls_real_S"], jittered["d"]["cls_real_S"])
    assert not torch.allclose(plain["src"]["cls_S"], jittered["src"]["cls_S"])
