"""Handlers finish their request in their own thread (``web.deps.finish_in_handler_thread``):
they commit (the SQLite writer turn is held for the handler's own work, not also for two trips
through a busy event loop and the thread pool) and make their JSON response there, as FastAPI
would have made it in further trips."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, FastAPI, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from datatorg.db import writes
from datatorg.db.engine import make_engine, make_sessionmaker
from datatorg.web.deps import SAFE_METHODS, SessionDep, finish_in_handler_thread


def _routes(routes: list) -> Iterator[APIRoute]:  # type: ignore[type-arg]
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _routes(included.routes)
        elif isinstance(route, APIRoute):
            yield route


def test_every_synchronous_handler_of_the_app_finishes_in_its_thread(app: FastAPI) -> None:
    sync = [r for r in _routes(app.routes) if not _is_async(r.dependant.call)]
    writing = [r for r in sync if (r.methods or set()) - SAFE_METHODS]
    assert len(writing) > 50 and len(sync) - len(writing) > 50  # forms, pages, API
    unwrapped = [r.path for r in sync if not getattr(r.dependant.call, "__wrapped__", None)]
    assert unwrapped == []
    # the endpoint FastAPI documents and the one it calls are the same wrapper
    assert all(r.endpoint is r.dependant.call for r in sync)


def _is_async(call: object) -> bool:
    import inspect

    return inspect.iscoroutinefunction(call)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = make_engine(f"sqlite:///{tmp_path / 'commit.sqlite3'}", write_wait_ms=300)
    with eng.begin() as conn:
        conn.execute(text("CREATE TABLE notes (body TEXT)"))
    yield eng
    eng.dispose()


def _handler(engine: Engine, *, fail: bool) -> APIRoute:
    router = APIRouter()
    seen: dict[str, object] = {}

    def write_note(session: SessionDep) -> dict[str, str]:
        session.execute(text("INSERT INTO notes VALUES ('hei')"))
        seen["thread"] = threading.get_ident()
        if fail:
            raise RuntimeError("the handler failed")
        return {"ok": "yes"}

    router.add_api_route("/notes", write_note, methods=["POST"])
    assert finish_in_handler_thread(router.routes) == 1
    assert finish_in_handler_thread(router.routes) == 0  # wrapped once
    route = router.routes[0]
    assert isinstance(route, APIRoute)
    return route


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM notes")).scalar_one())


def test_a_write_handler_commits_and_gives_the_turn_back_before_it_returns(
    engine: Engine,
) -> None:
    route = _handler(engine, fail=False)
    turn = writes.turn_for(engine.url.database)
    with writes.write_sessionmaker(engine)() as session:
        assert route.dependant.call is not None
        response = route.dependant.call(session=session)
        assert response.body == b'{"ok":"yes"}' and response.status_code == 200
        # back from the handler, in the same thread: stored, and the turn is free
        assert not session.in_transaction()
        assert not turn.held
    assert _count(engine) == 1


def test_a_handler_that_raises_commits_nothing(engine: Engine) -> None:
    route = _handler(engine, fail=True)
    with writes.write_sessionmaker(engine)() as session:
        assert route.dependant.call is not None
        with pytest.raises(RuntimeError):
            route.dependant.call(session=session)
        assert session.in_transaction()  # left to get_session, which rolls it back
        session.rollback()
    assert _count(engine) == 0


def test_a_read_session_is_left_alone(engine: Engine) -> None:
    route = _handler(engine, fail=False)
    with Session(engine) as session:  # not a write session: get_session ends it
        assert route.dependant.call is not None
        route.dependant.call(session=session)
        assert session.in_transaction()
        session.rollback()
    assert _count(engine) == 0


def _stamped(response: Response) -> str:
    """A dependency that sets a header and a cookie on the response FastAPI injects."""
    response.headers["x-stamp"] = "1"
    response.set_cookie("seen", "yes")
    return "ok"


class Note(BaseModel):
    body: str
    secret: str = "s"
    empty: str | None = None


def _app(engine: Engine, finish: bool = True) -> FastAPI:
    """An app whose read and write sessions are on ``engine``, with JSON routes as FastAPI
    serialises them: a response model, include/exclude, a status code, an injected response."""
    app = FastAPI()
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.write_sessionmaker = writes.write_sessionmaker(engine)
    app.state.threads = []

    @app.get(
        "/notes", response_model_exclude={"__all__": {"secret"}}, response_model_exclude_none=True
    )
    def notes(session: SessionDep) -> list[Note]:
        app.state.threads.append(threading.get_ident())
        rows = session.execute(text("SELECT body FROM notes ORDER BY rowid")).scalars()
        return [Note(body=b) for b in rows]

    @app.post("/notes", status_code=201)
    def add(body: str, session: SessionDep, response: Response) -> Note:
        session.execute(text("INSERT INTO notes VALUES (:b)"), {"b": body})
        response.headers["location"] = "/notes/1"
        if body == "accepted":
            response.status_code = 202
        return Note(body=body)

    @app.get("/stamped")
    def stamped(stamp: Annotated[str, Depends(_stamped)]) -> Note:
        return Note(body=stamp)

    @app.get("/bad")
    def bad() -> Note:
        return {"nobody": 1}  # type: ignore[return-value]

    @app.get("/raw")
    def raw() -> Note:
        return Response(b"raw", media_type="text/plain")  # type: ignore[return-value]

    if finish:
        assert finish_in_handler_thread(app.routes) == 5
    return app


def test_json_responses_are_made_as_fastapi_makes_them(engine: Engine) -> None:
    from fastapi.testclient import TestClient

    answers = []
    for finish in (True, False):
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM notes"))
        client = TestClient(_app(engine, finish), raise_server_exceptions=False)
        got = [
            client.post("/notes?body=hei"),
            client.post("/notes?body=accepted"),
            client.get("/notes"),
            client.get("/bad"),
            client.get("/raw"),
            client.get("/stamped"),
        ]
        answers.append([(r.status_code, sorted(r.headers.items()), r.content) for r in got])
        assert _count(engine) == 2
    assert answers[0] == answers[1]  # wrapped or not, the same answers
    (made, accepted, listed, bad, raw, stamped) = answers[0]
    assert made[0] == 201 and ("location", "/notes/1") in made[1]
    assert made[2] == b'{"body":"hei","secret":"s","empty":null}'
    assert accepted[0] == 202  # set on the injected response
    assert listed[2] == b'[{"body":"hei"},{"body":"accepted"}]'
    assert bad[0] == 500 and raw[2] == b"raw"
    assert ("x-stamp", "1") in stamped[1] and (
        "set-cookie",
        "seen=yes; Path=/; SameSite=lax",
    ) in stamped[1]


def test_a_read_handler_commits_its_session_in_its_thread(engine: Engine) -> None:
    route = next(
        r for r in _routes(_app(engine).routes) if r.path == "/notes" and "GET" in (r.methods or ())
    )
    with make_sessionmaker(engine)() as session:
        assert route.dependant.call is not None
        response = route.dependant.call(session=session)
        assert response.body == b"[]"
        assert not session.in_transaction()  # ended here: get_session has no trip to make
