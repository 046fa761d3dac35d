"""Write requests commit in their handler's thread (``web.deps.commit_in_handler_thread``):
the SQLite writer turn is held for the handler's own work, not also for two trips through a
busy event loop and the thread pool."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from datatorg.db import writes
from datatorg.db.engine import make_engine
from datatorg.web.deps import SAFE_METHODS, SessionDep, commit_in_handler_thread


def _routes(routes: list) -> Iterator[APIRoute]:  # type: ignore[type-arg]
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _routes(included.routes)
        elif isinstance(route, APIRoute):
            yield route


def test_every_synchronous_write_handler_of_the_app_commits_in_its_thread(app: FastAPI) -> None:
    writing = [
        r
        for r in _routes(app.routes)
        if (r.methods or set()) - SAFE_METHODS and not _is_async(r.dependant.call)
    ]
    assert len(writing) > 50  # the app's forms and API writes
    unwrapped = [r.path for r in writing if not getattr(r.dependant.call, "__wrapped__", None)]
    assert unwrapped == []
    # the endpoint FastAPI documents and the one it calls are the same wrapper
    assert all(r.endpoint is r.dependant.call for r in writing)


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
    assert commit_in_handler_thread(router.routes) == 1
    assert commit_in_handler_thread(router.routes) == 0  # wrapped once
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
        assert route.dependant.call(session=session) == {"ok": "yes"}
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
