"""`transynth serve` through its HTTP interface: listing, results equal to the CLI's, bounds,
hostile uploads and paths, and the server still answering afterwards."""

from __future__ import annotations

import io
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image
from serve_fixtures import METRICS, claimed_bomb, photo, png_bytes, real_bomb, shared_runs_dir

pytest.importorskip("starlette", reason="transynth serve needs the serve extra (starlette)")
pytest.importorskip("httpx", reason="starlette's TestClient needs httpx")
from starlette.testclient import TestClient  # noqa: E402

from transynth.cli import build_parser, main  # noqa: E402
from transynth.serve import Limits, create_app  # noqa: E402

CYC = "digits/cyclegan"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return shared_runs_dir(tmp_path_factory)


@pytest.fixture(scope="module")
def client(runs):
    limits = Limits(max_upload_bytes=200_000, max_pixels=1_000_000, max_whole_pixels=100 * 100)
    return TestClient(create_app(runs, limits))


def _translate(client, data, **params):
    return client.post(
        "/api/translate", params={"run": CYC, "name": "p.png", **params}, content=data
    )


def _still_serving(client):
    response = _translate(client, png_bytes(photo()))
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"


def test_the_page_and_the_run_list(client):
    assert "<title>transynth</title>" in client.get("/").text
    runs = {r["name"]: r for r in client.get("/api/runs").json()["runs"]}
    assert set(runs) == {CYC, "infogan"}
    assert runs[CYC]["method"] == "cyclegan" and runs[CYC]["report"] is True
    assert runs[CYC]["metrics"] == {
        k: METRICS[k] for k in ("AtoB/translation_accuracy", "AtoB/fid")
    } | {"AtoB/num_images": 8.0}
    report = client.get(f"/report/{CYC}")
    assert "<html" in report.text.lower()
    assert report.headers["content-security-policy"] == "sandbox allow-scripts"


def test_options_offer_what_each_method_can_do(client):
    cyc = client.get("/api/options", params={"run": CYC}).json()
    assert cyc["translates"] and not cyc["samples"]
    assert [t["value"] for t in cyc["targets"]] == ["AtoB", "BtoA"]
    info = client.get("/api/options", params={"run": "infogan"}).json()
    assert info["samples"] and not info["translates"]
    kinds = {c["name"]: c["kind"] for c in info["codes"]}
    assert kinds["c1"] == "cat" and "cont" in kinds.values()


def test_a_translation_equals_the_command_line(client, runs, tmp_path):
    image = photo(37, 23)
    image.save(tmp_path / "p.png")
    response = _translate(client, png_bytes(image), target="BtoA")
    assert response.status_code == 200 and response.headers["x-result-name"] == "p_BtoA.png"
    out = tmp_path / "out"
    cli = ["translate", str(runs / CYC), str(tmp_path / "p.png"), "--out", str(out)]
    assert main([*cli, "--direction", "BtoA", "--quiet"]) == 0
    served = np.asarray(Image.open(io.BytesIO(response.content)))
    assert np.array_equal(served, np.asarray(Image.open(out / "p_BtoA.png")))
    # in tiles, as translate --tile
    response = _translate(client, png_bytes(image), tile="16", overlap="4")
    assert main([*cli, "--tile", "16", "--overlap", "4", "--quiet"]) == 0
    tiled = np.asarray(Image.open(io.BytesIO(response.content)))
    assert np.array_equal(tiled, np.asarray(Image.open(out / "p_AtoB.png")))


def test_samples_equal_the_command_line(client, runs, tmp_path):
    params = {"run": "infogan", "n": "4", "seed": "3", "code.c1": "2", "code.c2": "0.5"}
    response = client.post("/api/sample", params=params)
    assert response.status_code == 200
    out = tmp_path / "samples"
    argv = ["sample", str(runs / "infogan"), "--n", "4", "--seed", "3", "--out", str(out)]
    assert main([*argv, "--code", "c1=2", "--code", "c2=0.5"]) == 0
    served = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"))
    assert np.array_equal(served, np.asarray(Image.open(out / "grid.png").convert("RGB")))


@pytest.mark.parametrize(
    "data,status,message",
    [
        (b"hello, not an image", 400, "not an image file"),
        (b"", 400, "empty"),
        (png_bytes(photo())[:60], 400, "damaged"),
        (real_bomb(), 413, "over the limit of 1,000,000 pixels"),
        (claimed_bomb(), 413, "over the limit of 1,000,000 pixels"),
        (b"x" * 300_000, 413, "over the limit of 200,000 bytes"),
    ],
    ids=["non-image", "empty", "truncated", "bomb", "claimed-bomb", "too-many-bytes"],
)
def test_hostile_uploads_get_a_message_and_the_server_goes_on(client, data, status, message):
    response = _translate(client, data)
    assert response.status_code == status and message in response.json()["error"]
    _still_serving(client)


@pytest.mark.parametrize(
    "name", ["../../etc/passwd.png", "/etc/passwd", "C:\\x\\y.png", "a\x00.png"]
)
def test_a_path_in_the_file_name_is_refused(client, name):
    response = _translate(client, png_bytes(photo()), name=name)
    assert response.status_code == 400 and "only a plain file name" in response.json()["error"]
    _still_serving(client)


def test_bad_settings_and_sizes_are_explained(client):
    response = _translate(client, png_bytes(photo(120, 120)), native="true")
    assert response.status_code == 413 and "set a tile size" in response.json()["error"]
    # at the trained scale (the default) the network sees a small image: no limit to refuse
    assert _translate(client, png_bytes(photo(120, 120))).status_code == 200
    response = _translate(client, png_bytes(photo()), native="maybe")
    assert response.status_code == 400 and "accepted: true or false" in response.json()["error"]
    assert _translate(client, png_bytes(photo(120, 120)), tile="64").status_code == 200
    response = _translate(client, png_bytes(photo()), target="sideways")
    assert response.status_code == 400 and "accepted: AtoB, BtoA" in response.json()["error"]
    response = _translate(client, png_bytes(photo()), tile="16", overlap="12")
    assert "half the tile" in response.json()["error"]
    response = client.post("/api/sample", params={"run": CYC})
    assert response.status_code == 400 and "does not sample" in response.json()["error"]
    response = client.post("/api/sample", params={"run": "infogan", "n": "65"})
    assert response.status_code == 400 and "1..64" in response.json()["error"]
    _still_serving(client)


def test_no_file_outside_runs_dir_can_be_read(runs, tmp_path):
    outside = tmp_path / "outside"
    shutil.copytree(runs / CYC, outside)
    (outside / "report.html").write_text("SECRET")
    root = tmp_path / "root"
    shutil.copytree(runs, root)
    (root / "linked").symlink_to(outside, target_is_directory=True)  # a run folder linked in
    evil = root / "evil"  # a run whose report is a link to a file outside
    evil.mkdir()
    for name in ("config.yaml", "model.safetensors"):
        shutil.copy(runs / CYC / name, evil / name)
    (evil / "report.html").symlink_to(outside / "report.html")
    stolen = root / "stolen"  # weights linked from outside: not a run of RUNS_DIR
    stolen.mkdir()
    shutil.copy(runs / CYC / "config.yaml", stolen)
    (stolen / "model.safetensors").symlink_to(outside / "model.safetensors")
    client = TestClient(create_app(root))
    listed = {r["name"]: r for r in client.get("/api/runs").json()["runs"]}
    assert set(listed) == {CYC, "infogan", "evil"} and listed["evil"]["report"] is False
    paths = [
        "/report/evil",
        "/report/linked",
        "/report/stolen",
        "/report/..%2Foutside",
        "/report/%2E%2E/outside",
        f"/report/{outside}",
        f"/report/{CYC}%2F..%2F..%2F..%2Foutside",
    ]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 404 and "SECRET" not in response.text, path
    for run in ("linked", "stolen", "../outside", str(outside)):
        response = client.get("/api/options", params={"run": run})
        assert response.status_code == 404 and "no run" in response.json()["error"], run
        response = client.post(
            "/api/translate", params={"run": run, "name": "p.png"}, content=png_bytes(photo())
        )
        assert response.status_code == 404


def test_serve_binds_to_localhost_by_default():
    args = build_parser().parse_args(["serve", "runs"])
    assert args.host == "127.0.0.1" and args.port == 8000


@pytest.mark.parametrize("method", __import__("transynth").list_models())
def test_every_method_gets_controls_that_work(method):
    """The options of each method, fed back as the page would, translate or sample."""
    import json

    from conftest import task_for
    from test_models import build

    from transynth.serve.app import Engine
    from transynth.serve.options import method_options, sample_arguments, translate_arguments

    model = build(method, task_for(method)).eval()
    engine = Engine(SimpleNamespace(model=lambda name: model), Limits())
    options = method_options(model)
    json.dumps(options)
    caps = model.capabilities
    assert options["translates"] == caps.translates
    assert options["samples"] == (method in ("infogan", "acgan", "cdrd", "ecdrd"))
    if options["translates"]:
        fields = {"target": options["targets"][-1]["value"]}
        if options["translate_label"]:
            fields["label"] = str(len(options["translate_label"]) - 1)
        for attribute in options["attributes"]:
            fields[f"attr.{attribute['name']}"] = attribute["values"][-1]
        direction, condition = translate_arguments(fields)
        assert model.translate(photo(16, 16), direction=direction, **condition).size == (16, 16)
        png, _ = engine.translate("run", png_bytes(photo(16, 16)), {**fields, "name": "p.png"})
        assert Image.open(io.BytesIO(png)).size == (16, 16)
    if options["samples"]:
        fields = {"n": "2", "seed": "1"}
        if options["sample_label"]:
            fields["label"] = "1"
        for code in options["codes"]:
            fields[f"code.{code['name']}"] = "1" if code["kind"] == "cat" else "0.5"
        kwargs = sample_arguments(fields)
        model.sample(kwargs.pop("n"), **kwargs)
        png, name = engine.sample("run", fields)  # as the app answers: one PNG grid
        assert Image.open(io.BytesIO(png)).size[0] > 0 and name.endswith("_seed1.png")
    if method == "ecdrd":
        assert options["translate_label"] and options["sample_label"]
    if method == "infogan":
        assert {c["kind"] for c in options["codes"]} == {"cat", "cont"}


def test_stargan_on_attributes_offers_one_control_per_attribute():
    from conftest import tiny_config

    from transynth.data.types import DomainInfo
    from transynth.registry import get_model_class
    from transynth.serve.options import method_options, translate_arguments

    domains = (DomainInfo("toy", 1, 2, ("inverted", "dim")),)
    model = get_model_class("stargan")(tiny_config("stargan").model, domains, 16).eval()
    options = method_options(model)
    assert [a["name"] for a in options["attributes"]] == ["inverted", "dim"]
    direction, condition = translate_arguments(
        {"target": options["targets"][0]["value"], "attr.inverted": "1", "attr.dim": "keep"}
    )
    assert condition == {"attributes": {"inverted": "1"}}
    assert model.translate(photo(16, 16), direction=direction, **condition).size == (16, 16)
