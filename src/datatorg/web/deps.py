"""Dependencies named once: ``SessionDep``, ``SettingsDep``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

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
