"""Label-free metrics of any folder: realism and FID/KID of a domain classifier trained on the
folder, class preservation from folder labels, ground truth by file name, checkerboard texture."""

from __future__ import annotations

import json
import os
import pathlib

import numpy as np
import pytest
import torch
from PIL import Image

import transynth.data as D
from transynth.eval import folder_classifier as FC
from transynth.eval.checkerboard import checkerboard_share
from transynth.eval.ground_truth import name_matches
from transynth.eval.metrics import fid_from_features
from transynth.eval.translation import evaluate_translation

SIZE = 32


def _square(k: int, big: bool) -> np.ndarray:
    """A dark square on a mid-gray background; its place depends on k, its size on `big`."""
    a = np.full((SIZE, SIZE, 3), 110, dtype=np.uint8)
    r = 9 if big else 5
    cy, cx = 10 + (k * 7) % 12, 10 + (k * 5) % 12
    a[cy - r // 2 : cy + r // 2 + 1, cx - r // 2 : cx + r // 2 + 1] = (20, 20, 40)
    return a


def _disc(k: int, big: bool) -> np.ndarray:
    """A bright disc at the place of `_square(k)` on a light background."""
    yy, xx = np.mgrid[:SIZE, :SIZE]
    a = np.full((SIZE, SIZE, 3), 200, dtype=np.uint8)
    r = 5 if big else 3
    cy, cx = 10 + (k * 7) % 12, 10 + (k * 5) % 12
    a[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = (250, 240, 120)
    return a


def write_folder(root: pathlib.Path, n_train: int = 24, n_test: int = 12, classes: bool = False):
    """trainA/trainB (different pictures), testA/testB with the same names (ground truth)."""
    for split, n, offset in (("train", n_train, 0), ("test", n_test, 100)):
        for k in range(n):
            big = k % 2 == 0
            for side, draw in (("A", _square), ("B", _disc)):
                sub = ("big" if big else "small") if classes else ""
                kk = k + offset if side == "A" or split == "test" else k + offset + 50
                path = root / f"{split}{side}" / sub / f"pic{k + offset:03d}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(draw(kk, big)).save(path)
    return root


class Model:
    """A translator `fn(x, direction)`; optionally bidirectional."""

    name, figures = "fake", ()

    def __init__(self, fn, bidirectional: bool = True) -> None:
        self.fn = fn
        caps = {"bidirectional": bidirectional, "translates": True}
        self.capabilities = type("Caps", (), caps)()

    def translate(self, x: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
        return self.fn(x, direction)


def oracle(task) -> Model:
    """Returns the ground truth of each test input (looked up by nearest test image)."""
    xa, xb = task.test.domain_tensors(0)[0], task.test.domain_tensors(1)[0]

    def fn(x, direction):
        src, dst = (xa, xb) if direction == "AtoB" else (xb, xa)
        d = torch.cdist(x.flatten(1), src.flatten(1))
        return dst[d.argmin(1)]

    return Model(fn)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSYNTH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def folder(tmp_path):
    return write_folder(tmp_path / "shapes")


def test_identity_and_ground_truth_models(folder, cache):
    task = D.build_task(str(folder), SIZE)
    ident = evaluate_translation(Model(lambda x, d: x), task)
    assert ident["domain_classifier/test_accuracy"] >= 0.9
    assert ident["domain_classifier/weak"] == 0.0
    for d in ("AtoB", "BtoA"):
        assert ident[f"{d}/realism"] <= 0.1 and ident[f"{d}/realism_baseline"] <= 0.1
        assert ident[f"{d}/gt_matched"] == 12.0
        assert ident[f"{d}/gt_psnr"] == pytest.approx(ident[f"{d}/gt_psnr_identity"])
        assert ident[f"{d}/gt_ssim"] == pytest.approx(ident[f"{d}/gt_ssim_identity"])
        assert ident[f"{d}/fid"] == pytest.approx(ident[f"{d}/fid_baseline"])
    truth = evaluate_translation(oracle(task), task)
    for d in ("AtoB", "BtoA"):
        assert truth[f"{d}/realism"] >= 0.9
        assert truth[f"{d}/gt_psnr"] >= 99.0 > truth[f"{d}/gt_psnr_identity"]
        assert truth[f"{d}/gt_l1"] == 0.0 < truth[f"{d}/gt_l1_identity"]
        assert truth[f"{d}/fid"] < 1e-6 < truth[f"{d}/fid_baseline"]
        assert truth[f"{d}/checkerboard"] == pytest.approx(truth[f"{d}/checkerboard_real"])
    # the judge trained once for both evaluations (cached by the folder's fingerprint)
    assert len(list((cache / "evaluators").glob("folder-domains-*.safetensors"))) == 1


def test_cached_judge_is_reused_and_a_changed_file_retrains(folder, cache):
    task = D.build_task(str(folder), SIZE)
    before = FC.trainings()
    first = evaluate_translation(Model(lambda x, d: x), task)
    assert FC.trainings() == before + 1
    again = evaluate_translation(Model(lambda x, d: x), D.build_task(str(folder), SIZE))
    assert FC.trainings() == before + 1  # loaded from the cache, not retrained
    assert again["AtoB/fid_baseline"] == pytest.approx(first["AtoB/fid_baseline"])
    touched = folder / "trainB" / "pic003.png"
    os.utime(touched, ns=(touched.stat().st_mtime_ns + 10**9,) * 2)
    evaluate_translation(Model(lambda x, d: x), D.build_task(str(folder), SIZE))
    assert FC.trainings() == before + 2


def test_weak_domain_classifier_is_flagged(tmp_path, cache):
    root = tmp_path / "same"
    rng = np.random.default_rng(0)
    for d, n in (("trainA", 24), ("trainB", 24), ("testA", 12), ("testB", 12)):
        (root / d).mkdir(parents=True)
        for k in range(n):  # both sides drawn from one distribution: nothing to tell apart
            Image.fromarray(rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)).save(
                root / d / f"{k}.png"
            )
    task = D.build_task(str(root), SIZE)
    with pytest.warns(UserWarning, match="domain classifier"):
        res = evaluate_translation(Model(lambda x, d: x, bidirectional=False), task)
    assert res["domain_classifier/test_accuracy"] < 0.9 and res["domain_classifier/weak"] == 1.0


def test_class_preservation_from_class_folders(tmp_path, cache):
    root = write_folder(tmp_path / "labelled", classes=True)
    task = D.build_task(str(root), SIZE)
    assert task.domains[1].class_names == ("big", "small")
    truth = evaluate_translation(oracle(task), task)
    assert truth["AtoB/translation_accuracy"] >= 0.9
    assert truth["class_classifier/B_test_accuracy"] >= 0.9
    (xa, ya), (xb, yb) = task.test.domain_tensors(0), task.test.domain_tensors(1)
    other = torch.tensor([int(torch.nonzero(yb != y)[0]) for y in ya])

    def swapped(x, direction):  # the ground truth of a picture of the other class
        i = torch.cdist(x.flatten(1), xa.flatten(1)).argmin(1)
        return xb[other[i]]

    bad = evaluate_translation(Model(swapped, bidirectional=False), task)
    assert bad["AtoB/translation_accuracy"] <= 0.2
    assert bad["AtoB/gt_psnr"] < truth["AtoB/gt_psnr"]


def test_fid_space_tells_blurry_from_sharp(folder, cache):
    task = D.build_task(str(folder), SIZE)
    judge = FC.task_judge(task, (0, 1))
    real, _ = task.train.domain_tensors(1)
    sharp, _ = task.test.domain_tensors(1)
    blur = torch.nn.functional.avg_pool2d(sharp, 5, stride=1, padding=2, count_include_pad=False)
    f_real = judge.features(real)
    assert fid_from_features(judge.features(blur), f_real) > 1.5 * fid_from_features(
        judge.features(sharp), f_real
    )


def test_checkerboard_share_sees_an_added_checker():
    yy, xx = torch.meshgrid(torch.arange(64), torch.arange(64), indexing="ij")
    smooth = (torch.sin(xx / 9.0) * torch.cos(yy / 7.0) * 0.6).expand(4, 3, 64, 64)
    one_px = ((xx + yy) % 2 * 2 - 1).float()  # the 1-px checker of a stride-2 upsampling
    two_px = ((xx // 2 + yy // 2) % 2 * 2 - 1).float()  # the 2-px checker of two of them
    clean = checkerboard_share(smooth)
    assert clean < 0.01
    for pattern in (one_px, two_px):
        assert checkerboard_share((smooth + 0.15 * pattern).clamp(-1, 1)) > 10 * clean + 0.05
    assert checkerboard_share(torch.zeros(2, 1, 16, 16)) == 0.0


def test_name_matches_skip_ambiguous_names():
    assert name_matches(["a", "b", "c", "c"], ["c", "b", "x"]) == ([1], [1])
    assert name_matches(None, ["a"]) == ([], [])


def test_evaluate_command_on_a_folder_run_writes_them(tmp_path, cache, capsys):
    from conftest import tiny_overrides

    from transynth.cli import main
    from transynth.config import resolve_config
    from transynth.training import Trainer

    root = write_folder(tmp_path / "shapes", n_train=8, n_test=6)
    overrides = tiny_overrides("cyclegan", steps=5, evaluate=True)
    overrides["data"] = {**overrides.get("data", {}), "task": str(root)}
    run = tmp_path / "run"
    Trainer(resolve_config("cyclegan", overrides=overrides), run).fit()
    report = (run / "report.html").read_text()
    assert "AtoB/realism" in report and "realism_baseline" in report
    assert (run / "figures" / "ground_truth.png").is_file()
    (run / "metrics.json").unlink()
    assert main(["evaluate", str(run)]) == 0
    metrics = json.loads((run / "metrics.json").read_text())["metrics"]
    for key in ("AtoB/realism", "AtoB/realism_baseline", "AtoB/fid", "BtoA/gt_psnr"):
        assert key in metrics, sorted(metrics)
    assert metrics["AtoB/gt_matched"] == 6.0
    assert "domain_classifier/test_accuracy" in capsys.readouterr().out


class _LookupStarGAN(torch.nn.Module):
    """G(x, c): the test picture of x's name drawn in the target domain c (the ground truth),
    plus `checker` times a 1-px checkerboard; `identity` returns x instead."""

    def __init__(self, task, identity: bool = False, checker: float = 0.0) -> None:
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(1))
        self.labels = type("Labels", (), {"vector": staticmethod(lambda k, block: block)})()
        self.domains = [task.test.domain_tensors(k)[0] for k in range(len(task.domains))]
        self.identity, self.checker = identity, checker

    def G(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        if self.identity:
            return x
        every = torch.cat(self.domains)
        i = torch.cdist(x.flatten(1), every.flatten(1)).argmin(1) % len(self.domains[0])
        y = torch.stack([self.domains[int(t)][int(k)] for k, t in zip(i, c.argmax(1), strict=True)])
        yy, xx = torch.meshgrid(torch.arange(SIZE), torch.arange(SIZE), indexing="ij")
        return (y + self.checker * ((xx + yy) % 2 * 2 - 1)).clamp(-1, 1)


def test_domains_folder_ground_truth_and_checkerboard_per_pair(tmp_path, monkeypatch):
    from transynth.eval import multidomain as md

    root = tmp_path / "styles"
    tints = {"red": (1.0, 0.3, 0.3), "green": (0.3, 1.0, 0.3), "blue": (0.3, 0.3, 1.0)}
    for split, ks in (("train", range(6)), ("test", range(100, 106))):
        for dom, tint in tints.items():
            for k in ks:
                (root / split / dom).mkdir(parents=True, exist_ok=True)
                a = (_disc(k, k % 2 == 0).astype(float) * tint).astype(np.uint8)
                Image.fromarray(a).save(root / split / dom / f"p{k}.png")
    task = D.build_task(str(root), SIZE, layout="domains")

    class Reader:  # a stand-in domain classifier: the brightest channel
        def logits(self, x):
            order = [task.domains[k].name for k in range(3)]
            best = x.mean(dim=(2, 3)).argmax(1)  # r, g, b
            return torch.nn.functional.one_hot(
                torch.tensor([order.index(["red", "green", "blue"][b]) for b in best]), 3
            ).float()

    monkeypatch.setattr(md, "task_classifier", lambda task, kind, seed: (Reader(), 1.0))
    truth = md.evaluate_domains(_LookupStarGAN(task), task)
    ident = md.evaluate_domains(_LookupStarGAN(task, identity=True), task)
    assert truth["domain_accuracy"] == 1.0 and ident["domain_accuracy"] == 0.0
    assert truth["gt_pairs"] == 6.0 and truth["red->blue/gt_matched"] == 6.0
    assert truth["gt_psnr"] >= 99.0 > truth["gt_psnr_identity"]
    assert ident["gt_psnr"] == pytest.approx(ident["gt_psnr_identity"])
    assert ident["gt_ssim"] == pytest.approx(ident["gt_ssim_identity"])
    assert truth["checkerboard"] == pytest.approx(truth["checkerboard_real"])
    blotchy = md.evaluate_domains(_LookupStarGAN(task, checker=0.1), task)
    assert blotchy["checkerboard"] > 2 * blotchy["checkerboard_real"]
    assert blotchy["gt_psnr"] < truth["gt_psnr"]


def test_report_shows_baselines_beside_their_metrics(tmp_path):
    from transynth.eval.report import write_report

    values = {
        "AtoB/fid": 1.5,
        "AtoB/fid_baseline": 7.25,
        "AtoB/gt_psnr": 21.5,
        "AtoB/gt_psnr_identity": 18.75,
        "AtoB/translation_accuracy": 0.875,
        "AtoB/baseline_accuracy": 0.125,
        "AtoB/num_images": 8.0,
        "psnr": 30.5,
    }
    (tmp_path / "metrics.json").write_text(json.dumps({"step": 5, "metrics": values}))
    text = write_report(tmp_path).read_text()
    rows = {r.split("</td>")[0].rpartition(">")[2]: r for r in text.split("<tr>")[1:]}
    assert "7.25" in rows["AtoB/fid"] and "fid_baseline" in rows["AtoB/fid"]
    assert "18.75" in rows["AtoB/gt_psnr"] and "0.125" in rows["AtoB/translation_accuracy"]
    assert "AtoB/fid_baseline" not in rows and "AtoB/baseline_accuracy" not in rows
    assert "AtoB/num_images" in rows and "psnr" in rows


def test_ground_truth_figure_of_a_name_aligned_folder(folder, tmp_path):
    from transynth.eval import write_figures

    task = D.build_task(str(folder), SIZE)
    out = tmp_path / "figures"
    write_figures(oracle(task), task, out)
    grid = np.asarray(Image.open(out / "ground_truth.png"))
    assert grid.shape[1] < 4 * (SIZE + 2) and grid.shape[1] > 3 * SIZE  # three columns
    assert grid.shape[0] >= 8 * SIZE  # 4 rows per direction
    assert "ground truth" in (out / "ground_truth.txt").read_text()
    unnamed = tmp_path / "unnamed"
    for d in ("trainA", "trainB", "testA", "testB"):
        for k in range(3):
            (unnamed / d).mkdir(parents=True, exist_ok=True)
            Image.fromarray(_square(k, True)).save(unnamed / d / f"{d}{k}.png")
    write_figures(oracle(task), D.build_task(str(unnamed), SIZE), tmp_path / "none")
    assert not (tmp_path / "none" / "ground_truth.png").exists()


def test_paired_folder_gets_identity_baselines_and_realism(tmp_path, cache):
    root = tmp_path / "pairs"
    for split, ks in (("train", range(24)), ("test", range(100, 108))):
        (root / split).mkdir(parents=True)
        for k in ks:
            pair = np.concatenate([_square(k, k % 2 == 0), _disc(k, k % 2 == 0)], axis=1)
            Image.fromarray(pair).save(root / split / f"{k}.png")
    task = D.build_task(str(root), SIZE)
    assert task.kind == "paired"
    ident = evaluate_translation(Model(lambda x, d: x, bidirectional=False), task)
    assert ident["psnr"] == pytest.approx(ident["psnr_identity"])
    assert ident["ssim"] == pytest.approx(ident["ssim_identity"])
    assert ident["AtoB/realism"] <= 0.1 and ident["domain_classifier/test_accuracy"] >= 0.9
    xa, xb = task.test.domain_tensors(0)[0], task.test.domain_tensors(1)[0]

    def truth(x, d):
        return xb[torch.cdist(x.flatten(1), xa.flatten(1)).argmin(1)]

    good = evaluate_translation(Model(truth, bidirectional=False), task)
    assert good["psnr"] > good["psnr_identity"] and good["AtoB/realism"] >= 0.9
    assert good["AtoB/fid"] < good["AtoB/fid_baseline"]


def test_stargan_domain_classifier_of_a_folder_is_cached(tmp_path, cache, monkeypatch):
    from transynth.eval import classifier as C
    from transynth.eval import multidomain as md

    root = tmp_path / "doms"
    for dom, tint in (("dark", 0.4), ("light", 1.0)):
        for k in range(6):
            (root / dom).mkdir(parents=True, exist_ok=True)
            a = (_disc(k, True).astype(float) * tint).astype(np.uint8)
            Image.fromarray(a).save(root / dom / f"p{k}.png")
    monkeypatch.setitem(C.TRAINING, "min_steps", 20)
    monkeypatch.setitem(C.TRAINING, "max_steps", 20)
    calls = []
    original = C._train
    monkeypatch.setattr(C, "_train", lambda *a, **k: calls.append(1) or original(*a, **k))
    task = D.build_task(str(root), 16, layout="domains")
    _, first = md.task_classifier(task, "domains", 0)
    _, again = md.task_classifier(D.build_task(str(root), 16, layout="domains"), "domains", 0)
    assert len(calls) == 1 and again == first
    md.task_classifier(task, "domains", 1)  # another seed: another classifier
    assert len(calls) == 2
