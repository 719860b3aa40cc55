"""The playground's web application (Starlette): one page of its own (``page/``) and a small
JSON interface to :class:`~genlab.playground.library.Library`.

Every model call runs in a worker thread (``run_in_threadpool``), so a slow sampler never
blocks the server; every error of a request becomes a JSON ``{"error": "one line"}`` with a
4xx status (5xx for genlab's own faults) and the server goes on.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from ..errors import GenlabError
from . import claims
from .library import MAX_UPLOAD, Library, NotFound, picture_path, summary

PAGE_FILES = {"": ("index.html", "text/html; charset=utf-8"), "app.js": ("app.js", "text/javascript"),
              "style.css": ("style.css", "text/css")}
MAX_JSON = 64 * 1024  # bytes of a JSON request
MAX_DRAINED = 128 * 2**20  # bytes of an oversized request read (and dropped) before answering 413


class RequestError(GenlabError):
    """A request the playground cannot take (HTTP 400 or 413)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


async def body_of(request: Request, limit: int) -> bytes:
    """The request's body, at most ``limit`` bytes (413 beyond it). An oversized body is read
    to its end without being kept (up to :data:`MAX_DRAINED`), so that the client, still
    sending, reads the 413 rather than a reset connection."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        elif size > MAX_DRAINED:
            break
    if size > limit:
        raise RequestError(f"the request is {size / 2**20:.1f} MB or more; at most {limit / 2**20:g} MB", 413)
    return b"".join(chunks)


async def json_of(request: Request) -> dict:
    raw = await body_of(request, MAX_JSON)
    try:
        value = json.loads(raw or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RequestError("the request is not JSON") from None
    if not isinstance(value, dict):
        raise RequestError("the request must be a JSON object")
    return value


def failure(error: Exception) -> JSONResponse:
    """A request's error as one line and a status: 404 unknown, 400/413 bad input, 500 else."""
    if isinstance(error, NotFound):
        status = 404
    elif isinstance(error, RequestError):
        status = error.status
    elif isinstance(error, GenlabError):
        status = 400
    else:
        status = 500
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return JSONResponse({"error": text if status != 500 else f"genlab failed: {type(error).__name__}: {text}"},
                        status_code=status)


def guarded(handler):
    async def respond(request: Request) -> Response:
        try:
            return await handler(request)
        except Exception as error:  # noqa: BLE001 - one request's error never stops the server
            return failure(error)
    return respond


def create_app(library: Library) -> Starlette:
    """The application over ``library``."""
    page = resources.files(__package__) / "page"

    async def page_file(request: Request) -> Response:
        name = request.path_params.get("file", "")
        if name not in PAGE_FILES:
            raise NotFound(f"no page file {name!r}")
        file, media = PAGE_FILES[name]
        return Response((page / file).read_bytes(), media_type=media, headers={"Cache-Control": "no-store"})

    async def run_list(request: Request) -> Response:
        runs = await run_in_threadpool(library.runs)
        return JSONResponse({"root": str(library.root), "runs": [summary(r) for r in runs.values()]})

    async def run_page(request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(library.describe, request.query_params.get("name", "")))

    async def picture(request: Request) -> Response:
        run = await run_in_threadpool(library.run, request.query_params.get("name", ""))
        return FileResponse(picture_path(run, request.query_params.get("file", "")), media_type="image/png")

    async def act(request: Request) -> Response:
        name, action = request.query_params.get("name", ""), request.path_params["action"]
        if action in ("translate", "predict") and not request.headers.get("content-type", "").startswith(
                "application/json"):
            upload = await body_of(request, MAX_UPLOAD)
            values = dict(request.query_params)
        else:
            upload, values = None, await json_of(request)
        return JSONResponse(await run_in_threadpool(library.act, name, action, values, upload))

    async def explain(request: Request) -> Response:
        which, q = request.path_params["claim"], request.query_params
        if which == "distance":
            return JSONResponse(await run_in_threadpool(claims.distance, q.get("d", "1")))
        if which == "kl":
            return JSONResponse(await run_in_threadpool(claims.kl_fits, q.get("separation", "2")))
        raise NotFound(f"no interactive claim {which!r}: distance or kl")

    routes = [Route("/", guarded(page_file)), Route("/page/{file}", guarded(page_file)),
              Route("/api/runs", guarded(run_list)), Route("/api/run", guarded(run_page)),
              Route("/api/picture", guarded(picture)),
              Route("/api/act/{action}", guarded(act), methods=["POST"]),
              Route("/api/explain/{claim}", guarded(explain))]
    return Starlette(routes=routes)


def serve(runs_dir: str | Path = "runs", host: str = "127.0.0.1", port: int = 8000, device: str | None = None,
          say=print) -> None:
    """Serve the playground over ``runs_dir`` until interrupted."""
    import uvicorn

    library = Library(runs_dir, device)
    say(f"genlab serve: {len(library.runs())} finished runs under {library.root}; open http://{host}:{port}/ "
        f"(Ctrl-C stops it)")
    uvicorn.run(create_app(library), host=host, port=port, log_level="warning")
