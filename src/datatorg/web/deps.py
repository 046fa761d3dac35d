"""Dependencies named once: ``SessionDep``, ``SettingsDep``."""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import ResponseValidationError
from fastapi.routing import APIRoute
from fastapi.utils import is_body_allowed_for_status_code
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
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


_FINISHES = "_datatorg_finishes_in_thread"


def finish_in_handler_thread(routes: Iterable[BaseRoute]) -> int:
    """Make every synchronous handler finish its request in its own thread, the moment it
    returns: commit its session, and turn what it returns into the JSON response; how many
    handlers were changed.

    Otherwise FastAPI does both later, each in a trip of its own to the thread pool: the
    response model's validation after the handler's thread has returned to the event loop,
    and ``get_session``'s commit after that. On a busy worker every trip waits its turn behind
    the worker's other requests (a JSON read took four trips: the caller, the handler, the
    validation, the commit), and on SQLite a write transaction held the database's writer turn
    all that time (``datatorg.db.writes``): a token creation held it 11 ms (p50), of which its
    statements took 2, and every other write and every read's audit record waited in that
    queue (docs/robust.md).

    What is committed: a write request's write session, and a read request's session. Nothing
    else changes: ``get_session`` already committed before the response was made (a 2xx means
    stored), a handler that raises commits nothing, and the response is the one FastAPI would
    make (its response model, include/exclude settings, status code, and the headers and
    status the handler set on an injected ``Response``). Handlers with a response class of
    their own (pages, files) return their response themselves, and FastAPI still makes the
    response of a route whose dependencies set something on the injected one. Included
    routers are followed; a handler is wrapped once.
    """
    changed = 0
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            changed += finish_in_handler_thread(included.routes)
            continue
        if not isinstance(route, APIRoute):
            continue
        call = route.dependant.call
        if (
            call is None
            or inspect.iscoroutinefunction(call)
            or inspect.isgeneratorfunction(call)
            or inspect.isasyncgenfunction(call)
            or getattr(call, _FINISHES, False)
        ):
            continue
        route.endpoint = route.dependant.call = _finishing(route, call)
        changed += 1
    return changed


def _response_in_dependencies(dependencies: Iterable[Dependant]) -> bool:
    return any(
        d.response_param_name is not None or _response_in_dependencies(d.dependencies)
        for d in dependencies
    )


def _finishing(route: APIRoute, call: Callable[..., Any]) -> Callable[..., Any]:
    reads = not (route.methods or set()) - SAFE_METHODS
    field = route.response_field if isinstance(route.response_class, DefaultPlaceholder) else None
    if _response_in_dependencies(route.dependant.dependencies):
        # A dependency sets headers or a status on the response FastAPI injects: FastAPI
        # copies them onto the response it makes, so it makes this one (commit only here).
        field = None
    sub_name = route.dependant.response_param_name

    def json_response(result: Any, sub: Response | None) -> Response:
        # FastAPI's own serialisation of a sync handler's result (fastapi.routing), here.
        assert field is not None
        value, errors = field.validate(result, {}, loc=("response",))
        if errors:
            raise ResponseValidationError(errors, body=result)
        content = field.serialize_json(
            value,
            include=route.response_model_include,
            exclude=route.response_model_exclude,
            by_alias=route.response_model_by_alias,
            exclude_unset=route.response_model_exclude_unset,
            exclude_defaults=route.response_model_exclude_defaults,
            exclude_none=route.response_model_exclude_none,
        )
        status = route.status_code
        if sub is not None and sub.status_code:
            status = sub.status_code
        response = Response(content, media_type="application/json", status_code=status or 200)
        if not is_body_allowed_for_status_code(response.status_code):
            response.body = b""
        if sub is not None:
            response.headers.raw.extend(sub.headers.raw)
        return response

    @functools.wraps(call)
    def handler(*args: Any, **kwargs: Any) -> Any:
        result = call(*args, **kwargs)
        if field is not None and not isinstance(result, Response):
            sub = kwargs.get(sub_name) if sub_name else None
            result = json_response(result, sub if isinstance(sub, Response) else None)
        for value in kwargs.values():
            if not isinstance(value, Session):
                continue
            if writes.in_write_transaction(value) or (reads and value.in_transaction()):
                value.commit()
        return result

    setattr(handler, _FINISHES, True)
    return handler
