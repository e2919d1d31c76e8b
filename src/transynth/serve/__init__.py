"""`transynth serve`: a local web app to translate and sample with the trained runs of a folder.

Needs the ``serve`` extra (starlette, uvicorn): ``pip install "transynth[serve]"``.
"""

from transynth.serve.app import Limits, create_app, make_server, serve

__all__ = ["Limits", "create_app", "make_server", "serve"]
