"""InfoGAN: code layouts, sampling with fixed codes, the Hungarian code accuracy, CLI sampling."""

from __future__ import annotations

import pytest
import torch
from conftest import make_task, pixel_images, tiny_config, tiny_overrides, use_pixel_reader

import transynth
from transynth.cli import main
from transynth.config import ConfigError, resolve_config
from transynth.eval import evaluate, write_figures
from transynth.eval.disentanglement import categorical_code_accuracy
from transynth.eval.figure_kinds import code_traversal
from transynth.models.infogan_codes import Code, parse_codes
from transynth.registry import get_model_class
from transynth.training import Trainer
from transynth.training.checkpoint import save_checkpoint


def build(**model):
    cfg = tiny_config("infogan", model)
    task = make_task("classes")
    return get_model_class("infogan")(cfg.model, task.domains, task.image_size).eval()


def tiny_run(run, method="infogan"):
    """A run folder with the weights of 2 training steps (without the slow report of fit())."""
    cfg = resolve_config(method, overrides=tiny_overrides(method, steps=2))
    trainer = Trainer(cfg, run, task=make_task("classes"))
    batch = trainer._to_device(next(iter(trainer._loader())))
    for _ in range(2):
        for phase in trainer.model.phases(trainer.step):
            trainer._run_phase(phase, batch)
        trainer.step += 1
    run.mkdir(parents=True)
    save_checkpoint(
        run / "model.safetensors", model=trainer.model, step=2, config=cfg.to_dict(), with_rng=False
    )
    return run


def test_code_layout_parsing_names_codes_in_order():
    assert parse_codes("cat:10,cont:2") == (
        Code("c1", "cat", 10),
        Code("c2", "cont"),
        Code("c3", "cont"),
    )
    assert [c.name for c in parse_codes(" cont:1 , cat:4, cat:3")] == ["c1", "c2", "c3"]
    assert parse_codes("cont:1, cat:4")[1].values == 4


@pytest.mark.parametrize("spec", ["", "cat:1", "cont:0", "cat10", "disc:10", "cat:x", "cat:10,"])
def test_bad_code_layouts_are_rejected_with_the_accepted_form(spec):
    with pytest.raises(ValueError, match="cat:K"):
        parse_codes(spec)
    with pytest.raises(ConfigError, match="model.codes"):
        resolve_config("infogan", overrides={"model": {"codes": spec}})


def test_network_sizes_follow_the_layout():
    model = build(codes="cat:5,cat:3,cont:2", noise_dim=7, cont_std="learned")
    assert model.G.fc[0].in_features == 7 + 5 + 3 + 2
    assert model.Q[-1].out_features == 5 + 3 + 2 * 2  # logits, then mean and log std per code
    assert build(codes="cont:2", cont_std="fixed").Q[-1].out_features == 2


def test_sample_shapes_seeds_and_fixed_codes():
    model = build()
    x = model.sample(5, codes={"c1": 3, "c2": 0.5}, seed=1)
    assert x.shape == (5, 1, 16, 16) and x.min() >= -1 and x.max() <= 1
    assert torch.equal(x, model.sample(5, codes={"c1": 3.0, "c2": 0.5}, seed=1))
    # the same seed keeps the noise: only the fixed code differs between these two
    other = model.sample(5, codes={"c1": 4, "c2": 0.5}, seed=1)
    assert not torch.equal(x, other)
    noise, cat, cont = model._draw(5, torch.Generator().manual_seed(1))
    cat[:, 0], cont[:, 0] = 4, 0.5
    assert torch.allclose(other, model._generate(noise, cat, cont))


@pytest.mark.parametrize(
    ("codes", "message"),
    [
        ({"c9": 1}, "unknown code 'c9'.*c1 \\(categorical, 0..9\\)"),
        ({"z": 0.0}, "unknown code"),
        ({"c1": 10}, "out of range.*0..9"),
        ({"c1": -1}, "out of range"),
        ({"c1": 2.5}, "out of range"),
        ({"c2": float("nan")}, "finite"),
        ({"c2": "a"}, "not a number"),
    ],
)
def test_bad_codes_are_rejected(codes, message):
    with pytest.raises(ValueError, match=message):
        build().sample(2, codes=codes)


def test_labels_are_refused_with_a_pointer_to_the_codes():
    with pytest.raises(ValueError, match="codes=.*c1"):
        build().sample(2, labels=3)


def test_the_categorical_code_drives_the_generator_input():
    model = build()
    seen = {}
    model.G.register_forward_pre_hook(lambda m, args: seen.setdefault("x", args[0].clone()))
    model.sample(4, codes={"c1": 7, "c3": -0.25}, seed=0)
    x = seen["x"]
    noise_dim = model.config.noise_dim
    assert torch.equal(x[:, noise_dim : noise_dim + 10].argmax(1), torch.full((4,), 7))
    assert torch.equal(x[:, noise_dim : noise_dim + 10].sum(1), torch.ones(4))
    assert torch.allclose(x[:, -1], torch.full((4,), -0.25))


def test_info_terms_are_the_cross_entropy_and_gaussian_nll():
    model = build(codes="cat:3,cont:1", lambda_cat=1.0, lambda_cont=0.5, cont_std="learned")
    q = torch.tensor([[2.0, 0.0, 0.0, 0.3, 0.0], [0.0, 0.0, 0.0, -1.0, 0.0]])
    cat, cont = torch.tensor([[0], [2]]), torch.tensor([[0.3], [0.0]])
    terms = model.info_terms(q, cat, cont)
    ce = torch.nn.functional.cross_entropy(q[:, :3], cat[:, 0])
    assert torch.allclose(terms["info_cat"], ce)
    # log std 0: NLL = 0.5 log(2 pi) + 0.5 (c - mu)^2 per image, then the weight 0.5
    nll = 0.5 * torch.log(torch.tensor(2 * torch.pi)) + 0.5 * torch.tensor([0.0, 1.0])
    assert torch.allclose(terms["info_cont"], 0.5 * nll.mean())
    # a learned std of e: the squared error shrinks by e^2, log std adds 1
    e2 = torch.exp(torch.tensor(2.0))
    q[:, 4] = 1.0
    nll = 0.5 * torch.log(torch.tensor(2 * torch.pi)) + 1 + 0.5 * torch.tensor([0.0, 1.0]) / e2
    assert torch.allclose(model.info_terms(q, cat, cont)["info_cont"], 0.5 * nll.mean())
    # fixed std 1 (the default, the reference code): Q's output holds means only
    fixed = build(codes="cat:3,cont:1", lambda_cont=1.0)
    assert fixed.Q[-1].out_features == 4
    terms = fixed.info_terms(q[:, :4], cat, cont)
    nll = 0.5 * torch.log(torch.tensor(2 * torch.pi)) + 0.5 * torch.tensor([0.0, 1.0])
    assert torch.allclose(terms["info_cont"], nll.mean())


def test_hungarian_code_accuracy_recovers_a_permutation():
    perm = torch.tensor([3, 0, 4, 1, 2])  # code value v -> class perm[v]

    def generate(values):  # a fake generator: the "image" is the one-hot of the class
        return torch.nn.functional.one_hot(perm[values], 5).float()

    def evaluator(images):
        return images

    acc, match = categorical_code_accuracy(generate, evaluator, 5, 5, per_value=7)
    assert acc == 1.0 and match == {v: int(perm[v]) for v in range(5)}

    def noisy(values):  # value 0 gives class 3 only half of the time (class 1 otherwise)
        classes = perm[values].clone()
        zeros = (values == 0).nonzero().flatten()
        classes[zeros[: len(zeros) // 2]] = 1
        return torch.nn.functional.one_hot(classes, 5).float()

    acc, match = categorical_code_accuracy(noisy, evaluator, 5, 5, per_value=10)
    assert acc == pytest.approx(45 / 50) and match == {v: int(perm[v]) for v in range(5)}


def test_more_code_values_than_classes_count_the_extra_values_as_errors():
    def generate(values):
        return torch.nn.functional.one_hot(values % 2, 2).float()

    acc, match = categorical_code_accuracy(generate, lambda x: x, 4, 2, per_value=5)
    assert acc == 0.5 and len(match) == 2


@pytest.mark.parametrize("joint", [False, True])
def test_d_reads_the_same_batch_composition_in_both_phases(joint):
    model = build(joint_batch=joint, fake_batch=0).train()
    real = torch.rand(4, 1, 16, 16) * 2 - 1
    seen: list[torch.Tensor] = []
    hook = model.D.register_forward_hook(lambda m, i, o: seen.append(i[0].detach()))
    d = model.step("d", {"image": real})
    g = model.step("g", {"image": real})
    hook.remove()
    assert {"real", "fake", "info_cat"} <= set(d) and {"gan", "info_cat"} <= set(g)
    if joint:  # one batch [real, fake] in each phase, the real images first
        assert [len(x) for x in seen] == [8, 8]
        assert all(torch.equal(x[:4], real) for x in seen)
    else:  # the reference code: real and fake apart in D's phase, fake alone in G's
        assert [len(x) for x in seen] == [4, 4, 4]


def test_evaluate_reports_the_matched_code_accuracy(monkeypatch):
    """With an evaluator that reads the code from the generated image, the metric finds the
    permutation the generator uses."""
    model = build(codes="cat:4,cont:1")
    perm = torch.tensor([2, 3, 1, 0])

    def fake_generate(noise, cat, cont, batch_size=500):
        return pixel_images(perm[cat[:, 0]])  # the code value's class as a pixel

    monkeypatch.setattr(model, "_generate", fake_generate)
    use_pixel_reader(monkeypatch)
    metrics = evaluate(model, make_task("classes"), per_value=5, num_samples=12)
    assert metrics["c1/code_accuracy"] == 1.0
    assert [metrics[f"c1/class_of_value_{v}"] for v in range(4)] == [2.0, 3.0, 1.0, 0.0]
    assert {"fid", "kid", "fid_real", "kid_real"} <= set(metrics)
    # Q read back on the real test images: in [0, 1], accuracy at least chance for 4 values
    read = [metrics[f"c1/q_train_{k}"] for k in ("balance", "mutual_information")]
    assert all(0 <= v <= 1 for v in read) and 0.25 <= metrics["c1/q_test_accuracy"] <= 1


def test_code_probabilities_read_q_on_real_images_in_eval_mode():
    model = build(codes="cat:3,cat:2,cont:1").train()
    images = torch.rand(7, 1, 16, 16) * 2 - 1
    probs = model.code_probabilities(images, batch_size=3)
    assert {k: tuple(v.shape) for k, v in probs.items()} == {"c1": (7, 3), "c2": (7, 2)}
    assert all(torch.allclose(v.sum(1), torch.ones(7)) for v in probs.values())
    assert model.training  # restored afterwards
    # eval mode: batch norm uses its running statistics, so each image is read on its own
    alone = model.code_probabilities(images[:1])
    assert torch.allclose(alone["c1"], probs["c1"][:1], atol=1e-6)


def test_evaluate_without_an_evaluator_is_empty():
    assert evaluate(build(), make_task("classes")) == {}


def test_traversal_and_visualize_grids():
    model = build(codes="cat:3,cont:2")
    images, nrow = code_traversal(model, "c3", torch.linspace(-1, 1, 5))
    assert images.shape == (3 * 5, 1, 16, 16) and nrow == 5
    with pytest.raises(ValueError, match="categorical"):
        code_traversal(model, "c1")
    batch = {"image": torch.zeros(2, 1, 16, 16), "label": torch.zeros(2, dtype=torch.long)}
    grid, nrow = model.visualize(batch)
    assert grid.shape == (2 * 4, 3, 16, 16) and nrow == 4
    assert torch.equal(grid, model.visualize(batch)[0]), "sample grids use fixed noise"


def test_figures_show_each_code(tmp_path):
    write_figures(build(codes="cat:3,cont:2"), make_task("classes"), tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        f"{n}.{e}" for n in ("code_c1", "traversal_c2", "traversal_c3") for e in ("png", "txt")
    ]
    assert "-2 to 2" in (tmp_path / "traversal_c2.txt").read_text()


def test_a_real_batch_of_one_is_refused_with_the_reason():
    model = build().train()
    with pytest.raises(ValueError, match="batch_size >= 2"):
        model.step("d", {"image": torch.zeros(1, 1, 16, 16), "label": torch.zeros(1).long()})


def test_cli_samples_with_fixed_codes_from_a_tiny_run(tmp_path, capsys):
    run = tiny_run(tmp_path / "run")
    out = tmp_path / "samples"
    args = ["sample", str(run), "--n", "6", "--code", "c1=3", "--code", "c2=0.5", "--out", str(out)]
    assert main(args) == 0
    assert len(list(out.glob("sample_*.png"))) == 6 and (out / "grid.png").is_file()
    model = transynth.load(run)
    from transynth.data import load_image

    first = load_image(out / "sample_0000.png", "L")
    expected = model.sample(6, codes={"c1": 3, "c2": 0.5}, seed=0)[0]
    pixels = torch.frombuffer(bytearray(first.tobytes()), dtype=torch.uint8).float()
    pixels = pixels.view(16, 16) / 127.5 - 1
    assert torch.allclose(pixels, expected[0], atol=2 / 255 + 1e-4)
    capsys.readouterr()
    assert main(["sample", str(run), "--n", "2", "--code", "c7=1", "--out", str(out)]) == 2
    assert "unknown code 'c7'" in capsys.readouterr().err
    assert main(["sample", str(run), "--n", "2", "--code", "c1=12", "--out", str(out)]) == 2
    assert "out of range" in capsys.readouterr().err
