"""The menu's counts: how many things wait for the signed-in person (requests, messages …).

Domains register a counter with ``register_count(name, fn)`` when their pages module is
imported: ``fn(actor)`` gives the count's ``SELECT count(*) …`` and its parameters (or None
when it does not apply to the person). The statement should be built once, with named
parameters unique to its counter: building it anew for each page cost as much CPU as
running it. ``counts`` asks for all of them in one statement, in a session of its own,
when a page is rendered for a signed-in person (one round trip for the menu, not one per
count: on PostgreSQL each costs CPU the whole worker shares). A page rendered on the event
loop (an ``async`` handler) gets no counts: the menu then shows its links without numbers
rather than block the loop on a query.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, select

log = logging.getLogger("datatorg.menu")

# fn(actor): the actor is identity's ``Actor`` (web sits below identity: not named)
Counter = Callable[[Any], tuple[Select[Any], dict[str, Any]] | None]
_COUNTERS: dict[str, Counter] = {}


def register_count(name: str, fn: Counter) -> None:
    """Show the count ``fn(actor)`` selects (a statement and its parameters) next to the menu
    link ``name`` (0 shows no number; None: the link has no count for this person)."""
    _COUNTERS[name] = fn


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def counts(app_state: Any, actor: Any) -> dict[str, int]:
    """The numbers for the menu of ``actor`` (empty for the public).

    A counter that fails loses its own number only (logged; the counts must never break the
    page they decorate): when the one statement fails, each count is asked for alone."""
    if actor is None or not actor.is_authenticated or not _COUNTERS or _on_event_loop():
        return {}
    factory = getattr(app_state, "sessionmaker", None)
    if factory is None:
        return {}
    asked: dict[str, tuple[Select[Any], dict[str, Any]]] = {}
    out: dict[str, int] = {}
    for name, fn in _COUNTERS.items():
        try:
            found = fn(actor)
        except Exception:
            log.exception("menu count %s failed", name)
            continue
        out[name] = 0
        if found is not None:
            asked[name] = found
    if not asked:
        return out
    try:
        out.update(_ask(factory, asked))
    except Exception:
        log.exception("menu counts failed; asking for each alone")
        for name, one in asked.items():
            try:
                out.update(_ask(factory, {name: one}))
            except Exception:
                log.exception("menu count %s failed", name)
                del out[name]
    return out


def _ask(factory: Any, asked: dict[str, tuple[Select[Any], dict[str, Any]]]) -> dict[str, int]:
    params = {k: v for _, given in asked.values() for k, v in given.items()}
    statement = _together(tuple((name, stmt) for name, (stmt, _) in asked.items()))
    with factory() as session:
        row = session.execute(statement, params).one()
    return {name: int(v or 0) for name, v in zip(asked, row, strict=True)}


@functools.lru_cache(maxsize=64)
def _together(asked: tuple[tuple[str, Select[Any]], ...]) -> Select[Any]:
    """One statement of the counts, as scalar subqueries (built once per set of counts)."""
    return select(*(stmt.scalar_subquery().label(name) for name, stmt in asked))
