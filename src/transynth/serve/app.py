"""The web app of `transynth serve`: a page, a JSON list of runs, and translate/sample calls.

The page (page.html) sends an image as the raw body of a POST, its settings in the query string,
and gets a PNG back, or a JSON ``{"error": ...}`` that it shows. Every request is bounded (body
bytes, decoded pixels, whole-image size, number of samples) and every failure is answered with a
message while the server keeps serving.
"""

from __future__ import annotations

import io
import math
import re
import threading
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from transynth.inference.batch import output_suffix
from transynth.inference.images import DEFAULT_MAX_PIXELS, ImageRejected, decode_image
from transynth.serve.options import (
    method_options,
    native_argument,
    sample_arguments,
    tile_arguments,
    translate_arguments,
)
from transynth.serve.runs import RunIndex, RunNotFound

#: File names the page may send: a plain base name, no folders, no control characters.
_PLAIN_NAME = re.compile(r"^[^/\\\x00-\x1f]{1,200}$")


@dataclass(frozen=True)
class Limits:
    """Bounds on what one request may ask of the server."""

    max_upload_bytes: int = 32 * 1024 * 1024
    max_pixels: int = DEFAULT_MAX_PIXELS  # any image, tiled or not
    max_whole_pixels: int = 2048 * 2048  # translated as one piece (larger: use tiles)

    def describe(self) -> dict[str, int]:
        return {
            "max_upload_bytes": self.max_upload_bytes,
            "max_pixels": self.max_pixels,
            "max_whole_pixels": self.max_whole_pixels,
        }


class RequestRefused(ValueError):
    """A request answered with a message and an HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def check_file_name(name: str) -> str:
    """`name` if it is a plain file name; RequestRefused naming it otherwise."""
    if not _PLAIN_NAME.match(name) or name in (".", "..") or ".." in Path(name).parts:
        raise RequestRefused(
            f"file name {name!r} holds a path or control characters; only a plain file name "
            "(such as photo.png) is accepted"
        )
    return name


def _png(image: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


class Engine:
    """The work behind the routes, free of HTTP: one computation at a time (bounded memory)."""

    def __init__(self, runs: RunIndex, limits: Limits) -> None:
        self.runs, self.limits = runs, limits
        self._lock = threading.Lock()

    def list_runs(self) -> dict[str, Any]:
        entries = [e.summary() for e in self.runs.scan().values()]
        return {"runs": entries, "limits": self.limits.describe()}

    def options(self, run: str) -> dict[str, Any]:
        return method_options(self.runs.model(run))

    def translate(self, run: str, data: bytes, fields: dict[str, str]) -> tuple[bytes, str]:
        """PNG bytes of the translation of `data` and the name to download it under."""
        from transynth.inference.tiling import translate_tiled

        name = check_file_name(fields.get("name") or "upload.png")
        model = self.runs.model(run)
        if not model.capabilities.translates:
            raise RequestRefused(f"{model.name} generates from noise; use Sample instead")
        direction, condition = translate_arguments(fields)
        tile, overlap = tile_arguments(fields)
        native = native_argument(fields)
        image = decode_image(data, max_pixels=self.limits.max_pixels, name=name)
        pixels = image.width * image.height
        # at the trained scale the network sees a small image; at native resolution the whole one
        if native and tile is None and pixels > self.limits.max_whole_pixels:
            side = int(math.sqrt(self.limits.max_whole_pixels))
            raise RequestRefused(
                f"{name}: {image.width} x {image.height} is larger than the {side} x {side} "
                "translated in one piece; set a tile size (e.g. 512) to translate it in tiles",
                413,
            )
        with self._lock:
            if tile is None:
                result = model.translate(image, direction=direction, native=native, **condition)
            else:
                result = translate_tiled(
                    model, image, direction, tile=tile, overlap=overlap, native=native, **condition
                )
        return _png(result), f"{Path(name).stem}_{output_suffix(direction, condition)}.png"

    def sample(self, run: str, fields: dict[str, str]) -> tuple[bytes, str]:
        """A PNG grid of samples from noise (joint methods: one row per domain)."""
        import torch

        from transynth.data.imageio import make_grid, tensor_to_image

        model = self.runs.model(run)
        kwargs = sample_arguments(fields)
        with self._lock:
            images = model.sample(
                kwargs["n"], labels=kwargs["labels"], codes=kwargs["codes"], seed=kwargs["seed"]
            )
        n = kwargs["n"]
        if isinstance(images, dict):  # a pair per column, one row per domain
            grid = make_grid(
                torch.cat([b.float().cpu().expand(-1, 3, -1, -1) for b in images.values()]), n
            )
        else:
            grid = make_grid(images.float().cpu(), max(1, int(n**0.5 + 0.5)))
        return _png(tensor_to_image(grid.clamp(-1, 1))), f"{model.name}_seed{kwargs['seed']}.png"


def page_html() -> str:
    return resources.files("transynth.serve").joinpath("page.html").read_text(encoding="utf-8")


def create_app(runs_dir: str | Path, limits: Limits | None = None) -> Any:
    """The Starlette app serving the runs under `runs_dir` (see the module docstring)."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
    from starlette.routing import Route

    limits = limits or Limits()
    engine = Engine(RunIndex(runs_dir), limits)
    page = page_html()

    def error(message: str, status: int) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    async def answer(call: Any, *args: Any) -> Response:
        started = time.perf_counter()
        try:
            result = await run_in_threadpool(call, *args)
        except RequestRefused as err:
            return error(str(err), err.status)
        except RunNotFound as err:
            return error(str(err), 404)
        except ImageRejected as err:
            return error(str(err), 413 if err.too_large else 400)
        except ValueError as err:  # a bad setting for this method: its message says what fits
            return error(str(err), 400)
        except Exception as err:  # keep serving; say what failed
            return error(f"internal error: {type(err).__name__}: {err}", 500)
        if isinstance(result, tuple):
            png, name = result
            headers = {
                "Content-Disposition": f'inline; filename="{name}"',
                "X-Result-Name": name,
                "X-Elapsed-Seconds": f"{time.perf_counter() - started:.3f}",
            }
            return Response(png, media_type="image/png", headers=headers)
        return JSONResponse(result)

    async def read_body(request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limits.max_upload_bytes:
            raise RequestRefused(_too_big(int(declared), limits), 413)
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limits.max_upload_bytes:
                raise RequestRefused(_too_big(size, limits), 413)
            chunks.append(chunk)
        return b"".join(chunks)

    async def index(request: Request) -> Response:
        return HTMLResponse(page)

    async def runs(request: Request) -> Response:
        return await answer(engine.list_runs)

    async def options(request: Request) -> Response:
        return await answer(engine.options, request.query_params.get("run", ""))

    async def translate(request: Request) -> Response:
        try:
            data = await read_body(request)
        except RequestRefused as err:
            return error(str(err), err.status)
        fields = dict(request.query_params)
        return await answer(engine.translate, fields.pop("run", ""), data, fields)

    async def sample(request: Request) -> Response:
        fields = dict(request.query_params)
        return await answer(engine.sample, fields.pop("run", ""), fields)

    async def report(request: Request) -> Response:
        try:
            path = await run_in_threadpool(engine.runs.report, request.path_params["name"])
        except RunNotFound as err:
            return error(str(err), 404)
        # sandboxed: a report's scripts run in an origin of their own, away from the app's API
        headers = {"Content-Security-Policy": "sandbox allow-scripts"}
        return FileResponse(path, media_type="text/html", headers=headers)

    routes = [
        Route("/", index),
        Route("/api/runs", runs),
        Route("/api/options", options),
        Route("/api/translate", translate, methods=["POST"]),
        Route("/api/sample", sample, methods=["POST"]),
        Route("/report/{name:path}", report),
    ]
    app = Starlette(routes=routes)
    app.state.engine = engine
    return app


def _too_big(size: int, limits: Limits) -> str:
    return (
        f"the upload is {size:,} bytes, over the limit of {limits.max_upload_bytes:,} bytes; "
        "upload a smaller file or start the server with a larger --max-upload-mb"
    )


def make_server(
    runs_dir: str | Path, host: str = "127.0.0.1", port: int = 8000, limits: Limits | None = None
) -> Any:
    """A uvicorn server of the app (not started: call .run(), or .serve() in an event loop)."""
    import uvicorn

    config = uvicorn.Config(
        create_app(runs_dir, limits), host=host, port=port, log_level="warning", access_log=False
    )
    return uvicorn.Server(config)


def serve(
    runs_dir: str | Path, host: str = "127.0.0.1", port: int = 8000, limits: Limits | None = None
) -> None:
    """Serve the app on http://HOST:PORT until interrupted (localhost only by default)."""
    from PIL import Image

    limits = limits or Limits()
    # Pillow's own bomb check, explicitly at the app's bound (its default is ~89 megapixels);
    # process-wide, so it is set here for the server process, not in create_app
    Image.MAX_IMAGE_PIXELS = limits.max_pixels
    server = make_server(runs_dir, host, port, limits)
    print(f"transynth serve: the runs under {runs_dir} on http://{host}:{port}")
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"transynth serve: listening on {host}: anyone who can reach it can use the models")
    server.run()
