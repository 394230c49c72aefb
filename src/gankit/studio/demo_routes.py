"""The routes of the lectures' demos (:mod:`.demos`): paint a scene, real or fake?

An ``APIRouter`` that :func:`gankit.studio.app.create_app` includes, so the demos share the
app's conventions: the :class:`~gankit.studio.security.Guard` middleware (Host, token,
cross-site POSTs, body timeout) wraps every route of the app, included ones too; pydantic
checks each body's shape (strict types: ``true`` is not a number, a wrong type is 422, each
error one JSON line); the app's ``answer`` turns ``UserError`` into 400, ``NotFound`` into 404
and a full quiz store into 429, and runs the model calls in its bounded worker pool.

``GET /api/demos?model=ID``: which demos the model has. ``POST /api/paint``: a painted grid
(JSON rows of palette ids) -> the model's output. ``POST /api/quiz/new``: ``n`` pictures, half
real, and a quiz id. ``POST /api/quiz/score``: one "real"/"fake" per picture -> the scores.
``POST /api/listen``: a music sample's piano roll and MIDI file; ``GET /api/listen/wav``: its WAV.
"""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from .demos import MAX_GRID, QUIZ_MAX, Demos

# The largest painting: MAX_GRID rows of MAX_GRID ids of up to 3 digits, with separators.
MAX_PAINT_BYTES = 8 * MAX_GRID * MAX_GRID
MAX_QUIZ_BYTES = 16 * 1024
Row = Annotated[list[StrictInt], Field(max_length=MAX_GRID)]


class PaintBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: Annotated[str, Field(max_length=200)] | None = None
    seed: StrictInt | None = None
    labels: Annotated[list[Row], Field(max_length=MAX_GRID)]


class QuizNewBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: Annotated[str, Field(max_length=200)] | None = None
    n: StrictInt | None = None


class ListenBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: Annotated[str, Field(max_length=200)] | None = None
    seed: StrictInt | None = None


class QuizScoreBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    quiz: Annotated[str, Field(max_length=64)]
    answers: Annotated[list[Literal["real", "fake"]], Field(max_length=QUIZ_MAX)]


def _params(body: BaseModel) -> dict:
    return body.model_dump(exclude_none=True)


def demo_router(demos: Demos, answer) -> APIRouter:
    """The demos' routes; ``answer(fn, *args, is_heavy=...)`` is the app's call-and-respond."""
    router = APIRouter()

    @router.get("/api/demos")
    async def demos_info(model: Annotated[str, Query(max_length=200)] = ""):
        return await answer(demos.info, {"model": model})

    @router.post("/api/paint", max_body_size=MAX_PAINT_BYTES)
    async def paint(body: PaintBody):
        return await answer(demos.paint, _params(body), is_heavy=True)

    @router.post("/api/quiz/new", max_body_size=MAX_QUIZ_BYTES)
    async def quiz_new(body: QuizNewBody | None = None):
        return await answer(demos.quiz_new, _params(body) if body else {}, is_heavy=True)

    @router.post("/api/quiz/score", max_body_size=MAX_QUIZ_BYTES)
    async def quiz_score(body: QuizScoreBody):
        return await answer(demos.quiz_score, _params(body))

    @router.post("/api/listen", max_body_size=MAX_QUIZ_BYTES)
    async def listen(body: ListenBody | None = None):
        return await answer(demos.listen, _params(body) if body else {}, is_heavy=True)

    @router.get("/api/listen/wav")
    async def listen_wav(model: Annotated[str, Query(max_length=200)] = "",
                         seed: Annotated[str, Query(max_length=40)] = ""):
        return await answer(demos.listen_wav, {"model": model, "seed": seed}, is_heavy=True,
                            media_type="audio/wav")

    return router
