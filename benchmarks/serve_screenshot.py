"""Screenshot of `transynth serve` for docs/serve.png, taken with Debian's chromium.

    python benchmarks/serve_screenshot.py RUNS_DIR RUN IMAGE docs/serve.png [--target BtoA]

Serves RUNS_DIR on a free local port, opens the page in headless chromium (Playwright with
/usr/bin/chromium, never a downloaded browser), selects RUN, uploads IMAGE, translates it and
saves the page.
"""

from __future__ import annotations

import argparse
import socket
import threading
import time

from transynth.serve import make_server

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


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs_dir")
    parser.add_argument("run")
    parser.add_argument("image")
    parser.add_argument("out")
    parser.add_argument("--target", default="AtoB")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = make_server(args.runs_dir, "127.0.0.1", port)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 640})
            page.goto(f"http://127.0.0.1:{port}/")
            page.click(f"tr[data-run='{args.run}']")
            page.wait_for_selector("#translate-panel:not(.hidden)")
            page.select_option("#target", args.target)
            page.set_input_files("#image", args.image)
            page.click("#translate")
            page.wait_for_function("document.getElementById('result').naturalWidth > 0")
            page.screenshot(path=args.out, full_page=True)
            browser.close()
    finally:
        server.should_exit = True
        thread.join(10)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
