"""AC-GAN: the published objectives, labels honoured in G's input, sampling, evaluation, CLI."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from conftest import make_task, pixel_images, tiny_config, tiny_overrides, use_pixel_reader
from test_infogan import tiny_run

import transynth
from transynth.cli import main
from transynth.config import resolve_config
from transynth.data.types import DomainInfo
from transynth.eval import evaluate, write_figures
from transynth.registry import get_model_class


def build(**model):
    cfg = tiny_config("acgan", model)
    task = make_task("classes")
    return get_model_class("acgan")(cfg.model, task.domains, task.image_size).eval()


def test_labels_are_honoured_in_the_generator_input():
    model = build()
    seen = []
    model.G.register_forward_pre_hook(lambda m, args: seen.append(args[0].clone()))
    model.sample(3, labels=2, seed=0)
    model.sample(4, labels=[0, 3, 1, 3], seed=0)
    model.sample(2, labels=torch.tensor([1, 0]), seed=0)
    model.sample(3, labels=[1, 1, 0], seed=0)
    nd = model.config.noise_dim
    assert seen[0][:, nd:].argmax(1).tolist() == [2, 2, 2]
    assert seen[1][:, nd:].argmax(1).tolist() == [0, 3, 1, 3]
    assert seen[2][:, nd:].argmax(1).tolist() == [1, 0]
    assert all(torch.equal(x[:, nd:].sum(1), torch.ones(len(x))) for x in seen)
    # the same seed, the same noise whatever the labels
    assert torch.equal(seen[0][:, :nd], seen[3][:, :nd])


def test_sample_shapes_and_bad_labels():
    model = build()
    x = model.sample(5, labels=1, seed=3)
    assert x.shape == (5, 1, 16, 16) and x.min() >= -1 and x.max() <= 1
    assert torch.equal(x, model.sample(5, labels=1, seed=3))
    assert not torch.equal(x, model.sample(5, labels=2, seed=3))
    assert model.sample(6).shape == (6, 1, 16, 16)  # classes drawn uniformly
    with pytest.raises(ValueError, match=r"label 4 is out of range.*0..3"):
        model.sample(2, labels=4)
    with pytest.raises(ValueError, match="label -1 is out of range"):
        model.sample(2, labels=[0, -1])
    with pytest.raises(ValueError, match="3 labels for n=2"):
        model.sample(2, labels=[0, 1, 2])
    with pytest.raises(ValueError, match="no latent codes.*--label"):
        model.sample(2, codes={"c1": 1.0})


def test_a_domain_without_labels_is_refused():
    cfg = resolve_config("acgan", overrides=tiny_overrides("acgan"))
    with pytest.raises(ValueError, match="needs class labels"):
        get_model_class("acgan")(cfg.model, (DomainInfo("photos", 3, None),), 16)


def test_objectives_are_l_s_and_l_c_as_published():
    """D minimises -(L_S + L_C); G minimises -L_C's fake term plus its adversarial term."""
    model = build(fake_batch=4, dropout=0.0, joint_batch=False).train()
    batch = {"image": torch.rand(4, 1, 16, 16) * 2 - 1, "label": torch.tensor([0, 1, 2, 3])}
    torch.manual_seed(5)
    d = model.step("d", batch)
    torch.manual_seed(5)
    noise, labels = model._draw(4)
    with torch.no_grad():
        fake = model.G(model._latent(noise, labels))
    rs, rc = model.D(batch["image"])
    fs, fc = model.D(fake)
    log_real = F.logsigmoid(rs).mean()  # log P(S=real | X_real)
    log_fake = F.logsigmoid(-fs).mean()  # log P(S=fake | X_fake)
    assert torch.allclose(d["real"] + d["fake"], -(log_real + log_fake), atol=1e-5)
    l_c = -F.cross_entropy(rc, batch["label"]) - F.cross_entropy(fc, labels)
    assert torch.allclose(d["cls_real"] + d["cls_fake"], -l_c, atol=1e-5)

    for saturating in (False, True):
        model = build(fake_batch=4, dropout=0.0, saturating=saturating, joint_batch=False)
        model.train()
        torch.manual_seed(6)
        g = model.step("g", batch)
        torch.manual_seed(6)
        noise, labels = model._draw(4)
        fs, fc = model.D(model.G(model._latent(noise, labels)))
        expected = F.logsigmoid(-fs).mean() if saturating else -F.logsigmoid(fs).mean()
        assert torch.allclose(g["gan"], expected, atol=1e-5)
        assert torch.allclose(g["cls"], F.cross_entropy(fc, labels), atol=1e-5)


def test_joint_batch_judges_real_and_fake_images_in_one_batch():
    model = build(fake_batch=3).train()
    sizes = []
    model.D.register_forward_pre_hook(lambda m, args: sizes.append(len(args[0])))
    batch = {"image": torch.zeros(2, 1, 16, 16), "label": torch.tensor([0, 1])}
    model.step("d", batch)
    model.step("g", batch)
    assert sizes == [5, 5]
    model = build(fake_batch=3, joint_batch=False).train()
    sizes.clear()
    model.D.register_forward_pre_hook(lambda m, args: sizes.append(len(args[0])))
    model.step("d", batch)
    model.step("g", batch)
    assert sizes == [2, 3, 3]


def test_unlabelled_training_images_are_refused():
    model = build().train()
    batch = {"image": torch.zeros(2, 1, 16, 16), "label": torch.tensor([0, -1])}
    with pytest.raises(ValueError, match="class label in 0..3"):
        model.step("d", batch)


def test_evaluate_scores_the_generated_classes(monkeypatch):
    model = build()
    shift = torch.tensor([0, 1, 2, 3])  # a generator that draws class c as class shift[c]

    def fake_generate(noise, labels, batch_size=500):
        return pixel_images(shift[labels])

    monkeypatch.setattr(model, "_generate", fake_generate)
    use_pixel_reader(monkeypatch)
    task = make_task("classes")
    assert evaluate(model, task, per_class=5, num_samples=12)["conditional_accuracy"] == 1.0
    shift = torch.tensor([1, 0, 2, 3])  # classes 0 and 1 swapped: half right
    metrics = evaluate(model, task, per_class=5, num_samples=12)
    assert metrics["conditional_accuracy"] == 0.5
    assert {"fid", "kid", "fid_real", "kid_real", "evaluator/toy_test_accuracy"} <= set(metrics)


def test_class_grid_visualize_and_figure(tmp_path):
    model = build()
    batch = {"image": torch.zeros(3, 1, 16, 16), "label": torch.zeros(3, dtype=torch.long)}
    grid, nrow = model.visualize(batch)
    assert grid.shape == (3 * 5, 3, 16, 16) and nrow == 5
    assert torch.equal(grid, model.visualize(batch)[0]), "sample grids use fixed noise"
    write_figures(model, make_task("classes"), tmp_path)
    assert (tmp_path / "classes.png").is_file() and "one column per class" in (
        tmp_path / "classes.txt"
    ).read_text()


def test_cli_samples_a_label_from_a_tiny_run(tmp_path, capsys):
    run = tiny_run(tmp_path / "run", "acgan")
    out = tmp_path / "samples"
    assert main(["sample", str(run), "--n", "4", "--label", "3", "--out", str(out)]) == 0
    assert len(list(out.glob("sample_*.png"))) == 4
    model = transynth.load(run)
    assert model.sample(4, labels=3, seed=0).shape == (4, 1, 16, 16)
    capsys.readouterr()
    assert main(["sample", str(run), "--n", "2", "--label", "9", "--out", str(out)]) == 2
    assert "out of range" in capsys.readouterr().err


def test_comparison_table_rows_follow_the_lecture():
    """Lecture: InfoGAN and AC-GAN cannot translate across domains; InfoGAN is unsupervised and
    not interpretable, AC-GAN supervised and interpretable."""
    rows = {
        line.split()[0]: line.split()[1:]
        for line in transynth.models_table().splitlines()[2:]
        if line.strip()
    }
    assert rows["infogan"] == ["n/a"] * 4 + ["O", "X"]
    assert rows["acgan"] == ["n/a"] * 4 + ["X", "O"]
