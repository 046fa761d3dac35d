"""What this server process turned away for being busy, for administrators: ``/admin/load``
and its JSON twin ``/api/v1/admin/load``.

Two lines of the process refuse work at once when they are long: the DuckDB places of the
gate's queries (``lake.reader.Places``: a query finding twice as many waiting is answered
503) and SQLite's writer turn (``db.writes.Turn``: a write finding half the request threads
in line is answered 503). Their counters were only in the process's memory. The figures are
this process's since it started (each server worker keeps its own; a reload of the page may
be answered by another worker).
"""

from __future__ import annotations

import os

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.responses import Response

from datatorg.db import writes
from datatorg.db.engine import engine_of
from datatorg.errors import NotFound
from datatorg.identity import permissions as perm
from datatorg.identity.actor import Actor
from datatorg.identity.deps import ActorDep
from datatorg.lake import reader
from datatorg.web.deps import SessionDep
from datatorg.web.templating import render

router = APIRouter(tags=["lake"])


class PlacesRead(BaseModel):
    size: int
    busy: int
    waiting: int
    refused: int


class TurnRead(BaseModel):
    waits: int
    max_line: int | None
    refused: int


class LoadRead(BaseModel):
    """This process's lines and what they refused since it started."""

    process: int
    duckdb: PlacesRead
    writer_turn: TurnRead | None  # None: not SQLite (PostgreSQL has no writer turn)


def load(session: Session) -> LoadRead:
    """The counters of this process's DuckDB places and SQLite writer turn."""
    places = reader.places()
    engine = engine_of(session)
    turn = None
    if engine.dialect.name == "sqlite":
        t = writes.turn_for(engine.url.database)
        turn = TurnRead(waits=t.waits, max_line=t.max_line, refused=t.refused)
    return LoadRead(
        process=os.getpid(),
        duckdb=PlacesRead(
            size=places.size, busy=places.busy, waiting=places.waiting, refused=places.refused
        ),
        writer_turn=turn,
    )


def _admin(actor: Actor) -> None:
    if not actor.is_superuser:
        raise NotFound("Not found")


@router.get("/api/v1/admin/load", dependencies=[perm.SUPERUSER_HIDDEN])
def load_api(session: SessionDep, actor: ActorDep) -> LoadRead:
    """This server process's DuckDB places and writer turn, and what they refused (superusers
    only)."""
    _admin(actor)
    return load(session)


@router.get("/admin/load", dependencies=[perm.SUPERUSER_HIDDEN], include_in_schema=False)
def load_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    """The load page (the same service as the JSON twin)."""
    _admin(actor)
    return render(request, "process_load.html", {"load": load(session)})
