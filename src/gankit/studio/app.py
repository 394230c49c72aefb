"""The studio's web app: FastAPI routes over :class:`gankit.studio.api.Studio`.

Request parsing, body-size limits (``max_body_size``), multipart uploads and 404/405/OPTIONS
answers come from FastAPI/Starlette; pydantic models check the shape of every request body
(a wrong type is 422, bad JSON 400, too large 413, each one JSON line ``{"error": "..."}``);
:class:`Studio` checks the bounds and answers 400 with its one-line message. The
:class:`gankit.studio.security.Guard` middleware applies the Host, token and cross-site rules
before any route runs.

The pictures (generate, explore, translate, detect, playground) run in a few worker threads
(``workers``); at most ``queue`` requests wait for one, more get 429 at once, so a burst of
requests cannot pile up without bound and the light requests (the page, run lists, curves)
keep their own threads and stay quick.
"""
from __future__ import annotations

import re
import sys
import traceback
from pathlib import Path
from typing import Annotated

import anyio
from fastapi import FastAPI, File, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt
from starlette.exceptions import HTTPException

from ..errors import UserError
from . import images
from .api import Studio
from .monitor import NotFound
from .security import SESSION_HEADER, Guard, Policy
from .sessions import SessionsFull

STATIC = Path(__file__).parent / "static"
MAX_JSON_BYTES = 64 * 1024
MAX_UPLOAD_BODY = images.MAX_UPLOAD_BYTES + 64 * 1024  # the file plus multipart headers
Short = Annotated[str, Field(max_length=200)]
# Strict: in lax mode pydantic takes JSON true/false as 1/0 ({"batch": true} would be one sample);
# a boolean where a number belongs is a wrong type (422), as for any other.
Number = StrictInt | StrictFloat | str
Seeds = list[Number] | str


class Body(BaseModel):
    """Fields every page may send; unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    model: Short | None = None
    seed: Number | None = None
    truncation: Number | None = None
    class_: Number | None = Field(default=None, alias="class")


class GenerateBody(Body):
    batch: Number | None = None
    text: Annotated[str, Field(max_length=10_000)] | None = None


class InterpolateBody(Body):
    a: Number | None = None
    b: Number | None = None
    t: Number | None = None
    mode: Short | None = None
    frames: Number | None = None


class EditBody(Body):
    amounts: Annotated[dict[Short, Number | None], Field(max_length=64)] | None = None


class StyleMixBody(Body):
    coarse: Annotated[Seeds, Field(max_length=400)] | None = None
    fine: Annotated[Seeds, Field(max_length=400)] | None = None
    crossover: Number | None = None


class PlaygroundNewBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dataset: Short | None = None
    loss: Short | None = None
    pack: Number | None = None
    gp: Number | None = None
    lr: Number | None = None
    seed: Number | None = None


class PlaygroundStepBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    steps: Number | None = None


class Heavy:
    """Runs picture-making calls in ``workers`` threads; 429 when ``queue`` already wait."""

    def __init__(self, workers: int = 2, queue: int = 128):
        self.limiter = anyio.CapacityLimiter(workers)
        self.queue, self.active = queue, 0

    async def run(self, fn, *args):
        if self.active >= self.queue + self.limiter.total_tokens:
            raise HTTPException(429, f"busy: {self.active} requests are being served or waiting; try again",
                                headers={"Retry-After": "1"})
        self.active += 1  # one event loop: no lock needed
        try:
            return await anyio.to_thread.run_sync(fn, *args, limiter=self.limiter)
        finally:
            self.active -= 1


def _params(body: BaseModel | None) -> dict:
    return body.model_dump(exclude_none=True, by_alias=True) if body is not None else {}


_TYPE_TAG = re.compile(r"^(int|float|str|bool|list\[.*\]|dict\[.*\])$")  # pydantic's union members


def _one_line(err: dict) -> str:
    loc = ".".join(str(x) for x in err.get("loc", ()) if x not in ("body", "query") and not _TYPE_TAG.match(str(x)))
    if isinstance(err.get("input"), bool) and err.get("type") in ("int_type", "float_type"):  # t: false
        return f"{loc or 'request'}: expected a number, got {str(err['input']).lower()}"
    return f"{loc or 'request'}: {err.get('msg', 'invalid')}"[:300]


def create_app(studio: Studio, policy: Policy | None = None, workers: int = 2, queue: int = 128) -> FastAPI:
    """The ASGI app of ``studio`` (serve it with :mod:`.server`, or test it with ``TestClient``)."""
    policy = policy or Policy()
    app = FastAPI(title="gankit studio", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.studio, app.state.policy = studio, policy
    heavy = app.state.heavy = Heavy(workers, queue)

    def error(status: int, message: str, headers=None) -> JSONResponse:
        return JSONResponse({"error": studio.scrub(message)}, status, headers=headers)

    async def answer(fn, *args, is_heavy: bool = False, media_type: str = ""):
        """Call a Studio method and turn its result or failure into a response: JSON, or the
        returned bytes as ``media_type`` (a PNG, a WAV)."""
        try:
            out = await (heavy.run(fn, *args) if is_heavy else anyio.to_thread.run_sync(fn, *args))
        except NotFound as e:
            return error(404, str(e))
        except UserError as e:
            return error(400, str(e))
        except SessionsFull as e:
            return error(429, str(e), {"Retry-After": "5"})
        except HTTPException:
            raise
        except Exception as e:  # noqa: BLE001 - the page gets a note; the log gets the traceback
            traceback.print_exc(file=sys.stderr)
            return error(500, f"internal error ({type(e).__name__}); see the studio's log")
        return Response(out, media_type=media_type) if media_type else JSONResponse(out)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, e: HTTPException):
        detail = str(e.detail)
        if e.status_code == 400 and "parsing the body" in detail:
            detail = "request: the body is not valid JSON (or not a valid upload)"
        return error(e.status_code, detail, getattr(e, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, e: RequestValidationError):
        errs = e.errors()
        if errs and errs[0].get("type") == "json_invalid":
            return error(400, "request: the body is not valid JSON")
        return error(422, _one_line(errs[0]) if errs else "request: invalid")

    def client(request: Request) -> str:
        return request.client.host if request.client else "?"

    # ------------------------------------------------------------------ page
    @app.get("/", include_in_schema=False)
    @app.get("/index.html", include_in_schema=False)
    def index():
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    # ------------------------------------------------------------------ read-only
    @app.get("/api/info")
    async def info(request: Request):
        return await answer(studio.info, {}, client(request))

    @app.get("/api/model")
    async def model(model: Annotated[str, Query(max_length=200)] = ""):
        return await answer(studio.model, {"model": model})

    @app.get("/api/runs")
    async def runs():
        return await answer(studio.runs, {})

    @app.get("/api/run")
    async def run(name: Annotated[str, Query(max_length=400)] = ""):
        return await answer(studio.run, {"name": name})

    @app.get("/api/run/sample")
    async def run_sample(name: Annotated[str, Query(max_length=400)] = "",
                         t: Annotated[str, Query(max_length=40)] = ""):
        return await answer(studio.run_sample, {"name": name}, media_type="image/png")

    @app.get("/api/compare")
    async def compare(names: Annotated[str, Query(max_length=20_000)] = ""):
        return await answer(studio.compare, {"names": names} if names else {})

    # ------------------------------------------------------------------ pictures
    def picture_route(path: str, schema: type[BaseModel], method: str) -> None:
        async def endpoint(body=None):
            return await answer(getattr(studio, method), _params(body), is_heavy=True)
        endpoint.__annotations__ = {"body": schema | None}  # the body model FastAPI validates
        app.post(path, name=method, max_body_size=MAX_JSON_BYTES)(endpoint)

    for path, schema in (("/api/generate", GenerateBody), ("/api/interpolate", InterpolateBody),
                         ("/api/edit", EditBody), ("/api/stylemix", StyleMixBody)):
        picture_route(path, schema, path.rsplit("/", 1)[1])

    @app.post("/api/playground/new", max_body_size=MAX_JSON_BYTES)
    async def playground_new(request: Request, body: PlaygroundNewBody | None = None):
        sid = request.headers.get(SESSION_HEADER)
        return await answer(studio.playground_new, _params(body), sid, client(request), is_heavy=True)

    @app.post("/api/playground/step", max_body_size=MAX_JSON_BYTES)
    async def playground_step(request: Request, body: PlaygroundStepBody | None = None):
        sid = request.headers.get(SESSION_HEADER)
        return await answer(studio.playground_step, _params(body), sid, client(request), is_heavy=True)

    # ------------------------------------------------------------------ uploads
    async def read_upload(file: UploadFile) -> bytes:
        data = await file.read(images.MAX_UPLOAD_BYTES + 1)
        if len(data) > images.MAX_UPLOAD_BYTES:
            raise HTTPException(413, f"upload: more than the limit of {images.MAX_UPLOAD_BYTES:,} bytes")
        return data

    @app.post("/api/translate", max_body_size=MAX_UPLOAD_BODY)
    async def translate(file: Annotated[UploadFile, File()], model: Annotated[str, Query(max_length=200)] = "",
                        direction: Annotated[str, Query(max_length=40)] = "",
                        seed: Annotated[str, Query(max_length=40)] = "",
                        domain: Annotated[str, Query(max_length=40)] = ""):
        p = {k: v for k, v in {"model": model, "direction": direction, "seed": seed, "domain": domain}.items() if v}
        return await answer(studio.translate, p, await read_upload(file), is_heavy=True)

    @app.post("/api/detect", max_body_size=MAX_UPLOAD_BODY)
    async def detect(file: Annotated[UploadFile, File()]):
        return await answer(studio.detect, {}, await read_upload(file), is_heavy=True)

    from .demo_routes import Demos, demo_router  # the lectures' demos: paint a scene, real or fake?

    app.state.demos = Demos(studio)
    app.include_router(demo_router(app.state.demos, answer))
    app.add_middleware(Guard, policy=policy, sessions=studio.sessions)
    return app
