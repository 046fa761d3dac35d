"""Dependencies named once: ``SessionDep``, ``SettingsDep``."""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute

from datatorg.db import writes
from datatorg.settings import Settings


async def get_settings_dep(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def sessionmaker_for(request: Request) -> sessionmaker[Session]:
    """Read requests get deferred transactions; requests with an unsafe method get write
    transactions, which wait their turn for the database's write lock before they begin
    (``datatorg.db.writes``): a read followed by a write could otherwise fail on SQLite."""
    app = request.app
    if request.method in SAFE_METHODS:
        found: sessionmaker[Session] = app.state.sessionmaker
    else:
        found = app.state.write_sessionmaker
    return found


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A control-plane session for one request: committed when the handler returns normally.

    Opening a session does no I/O (it connects on first use), so this runs on the event loop
    and only a session that began a transaction costs a trip to the thread pool at the end:
    a request that never touched the database, or already committed, pays nothing here.
    """
    session: Session = sessionmaker_for(request)()
    try:
        yield session
        if session.in_transaction():
            await run_in_threadpool(session.commit)
    except BaseException:
        if session.in_transaction():
            await run_in_threadpool(session.rollback)
        raise
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


# scope="function": commit before the response is sent, so a 2xx always means stored.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


_COMMITS = "_datatorg_commits_in_thread"


def commit_in_handler_thread(routes: Iterable[BaseRoute]) -> int:
    """Make every synchronous handler of a request with an unsafe method commit its write
    session in its own thread, the moment it returns; how many handlers were changed.

    Otherwise ``get_session`` commits it: after the handler's thread has returned to the event
    loop and the loop has come round to the dependency's exit, which sends the commit to the
    thread pool again. On SQLite the transaction holds the database's writer turn all that
    time (``datatorg.db.writes``), and on a busy worker the two trips took most of it: a token
    creation held the turn 11 ms (p50) of which its statements took 2, and every other write
    and every read's audit record waited in that queue (docs/robust.md). Committed in the
    handler's thread, the turn is held for the handler's own work.

    Nothing else changes: ``get_session`` already committed before the response was made (a
    2xx means stored), and a handler that raises commits nothing. Included routers are
    followed; a handler is wrapped once.
    """
    changed = 0
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            changed += commit_in_handler_thread(included.routes)
            continue
        if not isinstance(route, APIRoute) or not (route.methods or set()) - SAFE_METHODS:
            continue
        call = route.dependant.call
        if call is None or inspect.iscoroutinefunction(call) or getattr(call, _COMMITS, False):
            continue
        route.endpoint = route.dependant.call = _committing(call)
        changed += 1
    return changed


def _committing(call: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(call)
    def handler(*args: Any, **kwargs: Any) -> Any:
        result = call(*args, **kwargs)
        for value in kwargs.values():
            if isinstance(value, Session) and writes.in_write_transaction(value):
                value.commit()
        return result

    setattr(handler, _COMMITS, True)
    return handler
