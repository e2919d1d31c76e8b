"""`transynth serve`: a local web app to translate and sample with the trained runs of a folder.

Needs the ``serve`` extra (starlette, uvicorn): ``pip install "transynth[serve]"``. The names
below are imported on first use, so that the command line can build its parser cheaply.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Limits", "create_app", "make_server", "serve"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from transynth.serve import app

        return getattr(app, name)
    raise AttributeError(f"module 'transynth.serve' has no attribute {name!r}")
