"""`transynth serve` end to end in a real browser: Debian's chromium driven by Playwright.

Skipped, with the reason, where chromium or Playwright is missing (CI installs both: .ci/run).
Playwright's own browser downloads are never used: the test launches /usr/bin/chromium.
"""

from __future__ import annotations

import base64
import io
import shutil
import socket
import threading
import time

import numpy as np
import pytest
from PIL import Image
from serve_fixtures import photo, real_bomb, shared_runs_dir

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip(
        "no chromium on PATH (Debian: apt-get install -y chromium)", allow_module_level=True
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
pytest.importorskip("uvicorn", reason="transynth serve needs the serve extra (uvicorn)")

from transynth.cli import main  # noqa: E402
from transynth.serve import Limits, make_server  # noqa: E402

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CYC = "digits/cyclegan"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return shared_runs_dir(tmp_path_factory)


@pytest.fixture(scope="module")
def url(runs):
    port = _free_port()
    server = make_server(runs, "127.0.0.1", port, Limits(max_pixels=4_000_000))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started:
        assert time.time() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def page(url):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 760})
        page.set_default_timeout(15_000)
        page.goto(url)
        yield page
        browser.close()


def _shown_result(page) -> np.ndarray:
    """The pixels of the result image the page shows (its blob, read back in the page)."""
    page.wait_for_function("document.getElementById('result').naturalWidth > 0")
    data = page.evaluate(
        """async () => {
            const blob = await (await fetch(document.getElementById('result').src)).blob();
            const bytes = new Uint8Array(await blob.arrayBuffer());
            let text = ''; for (const b of bytes) text += String.fromCharCode(b);
            return btoa(text);
        }"""
    )
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))))


def _translate(page, files) -> None:
    page.evaluate("document.getElementById('result').removeAttribute('src')")
    page.set_input_files("#image", files=files)
    page.click("#translate")
    page.wait_for_function("!document.getElementById('translate').disabled")


def _message(page) -> tuple[str, str]:
    box = page.locator("#message")
    return box.get_attribute("class") or "", box.inner_text()


def test_translate_in_the_browser_equals_the_command_line(page, runs, tmp_path):
    page.click(f"tr[data-run='{CYC}']")
    page.wait_for_selector("#translate-panel:not(.hidden)")
    assert page.locator(f"tr[data-run='{CYC}']").inner_text().count("translation_accuracy") == 1
    page.select_option("#target", "BtoA")
    image = tmp_path / "digit.png"
    photo(45, 33, seed=5).save(image)
    _translate(page, str(image))
    assert _message(page)[0] == "info"
    shown = _shown_result(page)
    out = tmp_path / "out"
    argv = ["translate", str(runs / CYC), str(image), "--out", str(out), "--direction", "BtoA"]
    assert main([*argv, "--quiet"]) == 0
    assert np.array_equal(shown, np.asarray(Image.open(out / "digit_BtoA.png")))
    assert page.get_attribute("#download", "download") == "digit_BtoA.png"


@pytest.mark.parametrize(
    "name,data,message",
    [
        ("bomb.png", real_bomb(4000), "over the limit of 4,000,000 pixels"),
        ("notes.png", b"plain text, not a picture", "not an image file"),
        ("../../etc/passwd.png", None, "only a plain file name"),
    ],
    ids=["bomb", "non-image", "path-in-name"],
)
def test_hostile_uploads_show_a_message_and_the_next_request_works(page, name, data, message):
    page.click(f"tr[data-run='{CYC}']")
    page.wait_for_selector("#translate-panel:not(.hidden)")
    buffer = data if data is not None else io.BytesIO()
    if data is None:
        photo().save(buffer, format="PNG")
        buffer = buffer.getvalue()
    _translate(page, [{"name": name, "mimeType": "image/png", "buffer": buffer}])
    kind, text = _message(page)
    assert kind == "error" and message in text
    good = io.BytesIO()
    photo(20, 20).save(good, format="PNG")
    _translate(page, [{"name": "good.png", "mimeType": "image/png", "buffer": good.getvalue()}])
    assert _message(page)[0] == "info" and _shown_result(page).shape == (20, 20)


def test_sample_from_noise_with_a_code_slider(page):
    page.click("tr[data-run='infogan']")
    page.wait_for_selector("#sample-panel:not(.hidden)")
    assert page.locator("#translate-panel").is_hidden()
    slider = page.locator("input[type=range][data-code]").first
    slider.fill("1.5")
    page.fill("#n", "4")
    page.evaluate("document.getElementById('result').removeAttribute('src')")
    page.click("#sample")
    page.wait_for_function("!document.getElementById('sample').disabled")
    assert _message(page)[0] == "info"
    assert _shown_result(page).shape[0] > 0
