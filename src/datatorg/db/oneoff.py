"""A database session for one command-line command (``datatorg …``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from datatorg.db.engine import make_engine
from datatorg.db.writes import write_sessionmaker


@contextmanager
def write_session(database_url: str) -> Iterator[Session]:
    """A write session on the configured database; the engine is disposed afterwards."""
    engine = make_engine(database_url)
    try:
        with write_sessionmaker(engine)() as session:
            yield session
    finally:
        engine.dispose()
