"""Counting the SQL statements a piece of code sends (for tests of how many round trips a
hot path takes)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.orm import Session


@contextmanager
def recorded(session: Session) -> Iterator[list[str]]:
    """The statements sent on ``session``'s connection inside the block, in order."""
    statements: list[str] = []

    def seen(*args: object) -> None:
        statements.append(str(args[2]))

    bind = session.connection()
    event.listen(bind, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(bind, "before_cursor_execute", seen)
