"""StarGAN: label conditioning, the paper's losses, n_critic, the mask vector, targets, CLI."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import make_task, tiny_config, tiny_overrides

from transynth.config import ConfigError, resolve_config
from transynth.data.types import DomainInfo
from transynth.models.stargan import StarGAN
from transynth.models.stargan_labels import (
    LabelSet,
    attribute_edits,
    attribute_groups,
    attribute_updates,
)

ATTRS = ("colour_red", "colour_green", "colour_blue", "thick")


def build(domains, size=16, **model):
    cfg = tiny_config("stargan", model)
    return StarGAN(cfg.model, domains, size)


def three_domains(channels=1):
    return tuple(DomainInfo(f"toy{k}", channels, 4) for k in range(3))


def domain_batch(n=4, size=16, channels=1, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {
        "image": torch.rand(n, channels, size, size, generator=g) * 2 - 1,
        "domain": torch.arange(n) % 3,
        "label": torch.zeros(n, dtype=torch.int64),
    }


def test_instance_norm_as_group_norm_is_instance_norm():
    from transynth.nn.stargan_nets import _instance_norm

    x = torch.randn(3, 5, 8, 8)
    gn = _instance_norm(5)
    torch.nn.init.normal_(gn.weight)
    torch.nn.init.normal_(gn.bias)
    inorm = torch.nn.InstanceNorm2d(5, affine=True)
    inorm.load_state_dict(gn.state_dict())
    assert torch.allclose(gn(x), inorm(x), atol=1e-5)


def test_label_is_tiled_and_concatenated_and_changes_the_output():
    model = build(three_domains()).eval()
    assert model.labels.dim == 3
    assert model.G.model[0].in_channels == 1 + 3  # image channels + label channels
    x = torch.rand(2, 1, 16, 16) * 2 - 1
    torch.nn.init.normal_(model.G.model[0].weight)
    y0 = model.G(x, model.labels.vector(0, F.one_hot(torch.tensor([0, 0]), 3).float()))
    y1 = model.G(x, model.labels.vector(0, F.one_hot(torch.tensor([1, 1]), 3).float()))
    assert not torch.allclose(y0, y1)


def test_d_updates_every_step_and_g_every_n_critic():
    model = build(three_domains(), n_critic=5)
    phases = [model.phases(s) for s in range(10)]
    assert phases[:4] == [("d",)] * 4 and phases[4] == ("d", "g")
    assert sum("g" in p for p in phases) == 2 and all("d" in p for p in phases)


def test_losses_match_an_independent_computation():
    model = build(three_domains(), lambda_rec=10.0, lambda_cls=1.0, lambda_gp=10.0)
    batch = domain_batch()
    x, c_org = batch["image"], F.one_hot(batch["domain"], 3).float()
    torch.manual_seed(0)
    g = model.step("g", batch)
    assert set(g) == {"gan", "cls", "rec"}
    torch.manual_seed(0)
    c_trg = c_org[torch.randperm(4)]  # the reference code's shuffled targets
    with torch.no_grad():
        fake = model.G(x, c_trg)
        src, cls = model.D(fake)
        rec = model.G(fake, c_org)
    assert torch.allclose(g["rec"], 10 * (rec - x).abs().mean(), atol=1e-5)
    assert torch.allclose(g["cls"], F.cross_entropy(cls, c_trg.argmax(1)), atol=1e-5)
    assert torch.allclose(g["gan"], -src.mean(), atol=1e-5)
    d = model.step("d", batch)
    assert set(d) == {"real", "fake", "cls", "gp"}
    with torch.no_grad():
        src_real, cls_real = model.D(x)
    assert torch.allclose(d["real"], -src_real.mean(), atol=1e-5)
    assert torch.allclose(d["cls"], F.cross_entropy(cls_real, batch["domain"]), atol=1e-5)
    assert d["gp"] >= 0


def test_attribute_labels_use_a_summed_sigmoid_loss():
    model = build((DomainInfo("faces", 3, len(ATTRS), ATTRS),))
    assert model.labels.sets[0].kind == "attributes" and model.labels.dim == 4
    attrs = torch.tensor([[1, 0, 0, 1], [0, 0, 1, 0.0]])
    batch = {"image": torch.rand(2, 3, 16, 16) * 2 - 1, "attrs": attrs}
    d = model.step("d", batch)
    with torch.no_grad():
        logits = model.D(batch["image"])[1]
    expected = F.binary_cross_entropy_with_logits(logits, attrs, reduction="sum") / 2
    assert torch.allclose(d["cls"], expected, atol=1e-5)


def test_a_single_domain_without_attribute_names_is_refused():
    with pytest.raises(ValueError, match="attribute names"):
        build((DomainInfo("plain", 1, 4),))


def test_mixed_channel_domains_are_refused():
    with pytest.raises(ValueError, match="channel"):
        build((DomainInfo("a", 1), DomainInfo("b", 3)))


# ---- the mask vector: two datasets with different label sets ---------------------------------

TWO = "celeba=attributes:black,blond,male;rafd=domains:happy,sad"


def test_mask_vector_layout_and_known_part_only_classification():
    model = build(three_domains(3), datasets=TWO)
    space = model.labels
    assert space.mask and space.cls_dim == 5 and space.dim == 7
    c = space.vector(1, F.one_hot(torch.tensor([1]), 2).float())
    assert c.tolist() == [[0, 0, 0, 0, 1, 0, 1]]  # [celeba 0 0 0 | rafd 0 1 | mask 0 1]
    c = space.vector(0, torch.tensor([[1.0, 0, 1]]))
    assert c.tolist() == [[1, 0, 1, 0, 0, 1, 0]]
    logits = torch.randn(2, 5)
    block = F.one_hot(torch.tensor([0, 1]), 2).float()
    other = logits.clone()
    other[:, :3] += 100  # the unknown (CelebA) part must not matter for a RaFD batch
    assert torch.allclose(space.cls_loss(logits, 1, block), space.cls_loss(other, 1, block))
    assert model.D.cls.out_channels == 5 and model.G.model[0].in_channels == 3 + 7


@pytest.mark.slow
def test_mask_vector_training_alternates_datasets():
    torch.manual_seed(0)
    model = build(three_domains(3), datasets=TWO)
    img = make_task("domains", channels=(3, 3)).train.x[:4]  # learnable blobs
    celeba = {
        "image": img,
        "attrs": torch.tensor([[1, 0, 1], [0, 1, 0], [1, 0, 0], [0, 1, 1.0]]),
        "dataset": torch.zeros(4, dtype=torch.int64),
    }
    rafd = {"image": -img, "domain": torch.tensor([0, 1, 0, 1]), "dataset": torch.ones(4).long()}
    opt = {
        p: torch.optim.Adam(getattr(model, n).parameters(), 2e-3)
        for p, n in (("d", "D"), ("g", "G"))
    }
    recs = []
    for step in range(40):
        batch = celeba if step % 2 == 0 else rafd  # the paper alternates the datasets
        for phase in ("d", "g"):
            model.G.requires_grad_(phase == "g")
            model.D.requires_grad_(phase == "d")
            losses = model.step(phase, batch)
            opt[phase].zero_grad()
            sum(losses.values()).backward()
            opt[phase].step()
        recs.append(float(losses["rec"].detach()))
    assert all(np.isfinite(recs))
    assert np.mean(recs[-6:]) < 0.9 * np.mean(recs[:6]), recs  # reconstruction is learned
    with pytest.raises(ValueError, match="one dataset"):
        model.step("d", {**rafd, "dataset": torch.tensor([0, 1, 0, 1])})
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    assert model.translate(x, "sad").shape == x.shape
    assert model.translate(x, attributes={"male": 1}).shape == x.shape
    with pytest.raises(ValueError, match="happy, sad"):
        model.translate(x, "angry")


def test_bad_datasets_option_is_a_config_error():
    over = tiny_overrides("stargan", {"datasets": "celeba=faces:a,b"})
    with pytest.raises(ConfigError, match="KIND"):
        resolve_config("stargan", overrides=over)
    assert LabelSet.parse("r=domains:a, b").names == ("a", "b")


def test_mask_vector_steps_on_either_dataset_give_gradients():
    model = build(three_domains(3), datasets=TWO)
    img = torch.rand(2, 3, 16, 16) * 2 - 1
    batches = [
        {"image": img, "attrs": torch.tensor([[1, 0, 1], [0, 1, 0.0]]), "dataset": torch.zeros(2)},
        {"image": img, "domain": torch.tensor([0, 1]), "dataset": torch.ones(2)},
    ]
    for batch in batches:
        for phase, net in (("d", model.D), ("g", model.G)):
            model.zero_grad(set_to_none=True)
            losses = model.step(phase, batch)
            assert torch.isfinite(sum(losses.values()))
            sum(losses.values()).backward()
            assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())


# ---- targets: domain names and attribute settings ---------------------------------------------


def test_translate_to_a_named_domain_and_errors_list_the_domains():
    model = build(three_domains())
    x = torch.rand(2, 1, 20, 20) * 2 - 1
    y = model.translate(x, "toy2")
    assert y.shape == x.shape
    c = model.target_labels(x, "toy2")
    assert c.argmax(1).tolist() == [2, 2]
    assert model.target_labels(x, "AtoB").argmax(1).tolist() == [1, 1]
    assert model.resolve_direction("toy1") == "toy1"
    with pytest.raises(ValueError, match="toy0, toy1, toy2"):
        model.translate(x, "toy9")
    with pytest.raises(ValueError, match="--to NAME"):
        model.translate(x, "toy1", attributes={"x": 1})


def test_attribute_settings_read_naturally_and_errors_name_the_accepted():
    assert attribute_groups(ATTRS) == {
        "colour": {"red": "colour_red", "green": "colour_green", "blue": "colour_blue"}
    }
    up = attribute_updates(ATTRS, {"colour": "green", "thick": "1"})
    assert up == {0: 0.0, 1: 1.0, 2: 0.0, 3: 1.0}
    assert attribute_updates(ATTRS, {"colour_blue": True}) == {2: 1.0}
    with pytest.raises(ValueError, match="red, green, blue"):
        attribute_updates(ATTRS, {"colour": "pink"})
    with pytest.raises(ValueError, match="thick=0"):
        attribute_updates(ATTRS, {"thick": "2"})
    with pytest.raises(ValueError, match="colour=red"):
        attribute_updates(ATTRS, {"size": "1"})
    edits = dict(attribute_edits(ATTRS, torch.tensor([[1.0, 0, 0, 0]])))
    assert list(edits) == ["colour=red", "colour=green", "colour=blue", "thick flipped"]
    assert edits["colour=blue"].tolist() == [[0, 0, 1, 0]]
    assert edits["thick flipped"].tolist() == [[1, 0, 0, 1]]


def test_attribute_translation_keeps_what_d_reads_and_applies_settings():
    model = build((DomainInfo("faces", 3, len(ATTRS), ATTRS),)).eval()
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    read = model.labels.predict(model.D(x)[1], 0)
    c = model.target_labels(x, attributes={"colour": "blue"})
    assert c[:, :3].tolist() == [[0, 0, 1]] * 2
    assert torch.equal(c[:, 3], read[:, 3])  # thick: as D_cls reads it off the input
    assert model.translate(x, attributes={"thick": 0}).shape == x.shape


def test_visualize_shows_every_domain_and_the_reconstruction():
    task = make_task("domains")
    model = build(task.domains).eval()
    batch = {"image": task.train.x[:2], "domain": task.train.d[:2]}
    grid, nrow = model.visualize(batch)
    assert nrow == 1 + 3 + 1 and grid.shape[0] == 2 * nrow


# ---- CLI on tiny runs -------------------------------------------------------------------------


def _write_domain_folders(root, names, n=6):
    from PIL import Image

    rng = np.random.default_rng(0)
    for k, name in enumerate(names):
        (root / name).mkdir(parents=True)
        for i in range(n):
            a = (rng.random((16, 16, 3)) * 80 + 60 * k).astype(np.uint8)
            Image.fromarray(a).save(root / name / f"{i}.png")


TINY_ARGS = [
    "--steps",
    "2",
    "--data.image_size=16",
    "--model.ngf=4",
    "--model.ndf=4",
    "--model.n_blocks=1",
    "--model.d_layers=2",
    "--model.n_critic=1",
    "--train.batch_size=2",
    "--train.evaluate=false",
    "--train.progress=false",
    "--train.tensorboard=false",
]


def test_cli_translates_to_a_named_domain(tmp_path, capsys):
    from transynth.cli import main

    data = tmp_path / "styles"
    _write_domain_folders(data, ["plain", "printed", "colour"])
    run = tmp_path / "run"
    argv = ["train", "stargan", "--data", str(data), "--data.layout=domains", "--out", str(run)]
    assert main(argv + TINY_ARGS) == 0
    img = data / "plain" / "0.png"
    out = tmp_path / "out"
    assert main(["translate", str(run), str(img), "--to", "printed", "--out", str(out)]) == 0
    assert (out / "0_printed.png").is_file()
    assert main(["translate", str(run), str(img), "--to", "nope", "--out", str(out)]) != 0
    assert "accepted: colour, plain, printed" in capsys.readouterr().err


def test_cli_translates_with_attribute_settings(tmp_path, capsys):
    from PIL import Image

    from transynth.cli import main

    data = tmp_path / "attrs"
    data.mkdir()
    rows = ["file,colour_red,colour_green,colour_blue,thick"]
    rng = np.random.default_rng(1)
    for i in range(12):
        Image.fromarray((rng.random((16, 16, 3)) * 255).astype(np.uint8)).save(data / f"{i}.png")
        c = i % 3
        rows.append(f"{i}.png,{int(c == 0)},{int(c == 1)},{int(c == 2)},{i % 2}")
    (data / "attributes.csv").write_text("\n".join(rows) + "\n")
    run = tmp_path / "run"
    assert main(["train", "stargan", "--data", str(data), "--out", str(run)] + TINY_ARGS) == 0
    out = tmp_path / "out"
    argv = ["translate", str(run), str(data / "0.png"), "--out", str(out)]
    assert main(argv + ["--set", "colour=red", "--set", "thick=1"]) == 0
    assert len(list(out.glob("0_*colour-red_thick-1.png"))) == 1
    assert main(argv + ["--set", "shape=round"]) != 0
    assert "unknown attribute 'shape'" in capsys.readouterr().err
    assert main(argv + ["--set", "colour=pink"]) != 0
    assert "accepted values red, green, blue" in capsys.readouterr().err


def test_capabilities_follow_the_lecture_table():
    import transynth

    rows = {ln.split()[0]: ln.split()[1:] for ln in transynth.models_table().splitlines()[2:] if ln}
    assert rows["stargan"][:4] == ["O", "O", "O", "X"]  # unpaired, multi-domain, bi-dir, joint
    assert StarGAN.capabilities.data_kinds == ("domains", "attributes")
    assert StarGAN.default_task == "digit-styles"


def test_resize_upsampling_is_opt_in_and_free_of_the_deconv_checkerboard():
    """model.upsample=resize replaces G's transposed convs; a constant input map then stays
    constant away from the borders, while the 4x4 stride-2 deconv leaves a period-2 pattern."""
    from transynth.nn.stargan_nets import upsampling

    paper = build(three_domains())
    assert any(isinstance(m, torch.nn.ConvTranspose2d) for m in paper.G.modules())
    resize = build(three_domains(), upsample="resize")
    assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in resize.G.modules())
    assert any(isinstance(m, torch.nn.Upsample) for m in resize.G.modules())
    torch.manual_seed(0)
    x = torch.ones(1, 4, 8, 8)
    for mode, periodic in (("deconv", True), ("resize", False)):
        layers = torch.nn.Sequential(*upsampling(4, 1, mode))
        torch.nn.init.uniform_(layers[-1].weight, 0.1, 1.0)
        y = layers(x)[0, 0, 4:-4, 4:-4]  # the interior: no border effects
        assert (y.max() - y.min() > 1e-3) == periodic, mode
    with pytest.raises(ConfigError, match="model.upsample"):
        resolve_config("stargan", preset="tiny", overrides={"model": {"upsample": "bilinear"}})
