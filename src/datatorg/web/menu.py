"""The menu's counts: how many things wait for the signed-in person (requests, messages …).

Domains register a counter with ``register_count(name, fn)`` when their pages module is
imported; ``counts`` runs them in a session of its own when a page is rendered for a
signed-in person. A page rendered on the event loop (an ``async`` handler) gets no counts:
the menu then shows its links without numbers rather than block the loop on a query.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

log = logging.getLogger("datatorg.menu")

# fn(session, actor): the actor is identity's ``Actor`` (web sits below identity: not named)
Counter = Callable[[Session, Any], int]
_COUNTERS: dict[str, Counter] = {}


def register_count(name: str, fn: Counter) -> None:
    """Show ``fn(session, actor)`` next to the menu link ``name`` (0 shows no number)."""
    _COUNTERS[name] = fn


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def counts(app_state: Any, actor: Any) -> dict[str, int]:
    """The numbers for the menu of ``actor`` (empty for the public)."""
    if actor is None or not actor.is_authenticated or not _COUNTERS or _on_event_loop():
        return {}
    factory = getattr(app_state, "sessionmaker", None)
    if factory is None:
        return {}
    out: dict[str, int] = {}
    with factory() as session:
        for name, fn in _COUNTERS.items():
            try:
                out[name] = fn(session, actor)
            except Exception:  # a count must never break the page it decorates
                log.exception("menu count failed", extra={"count": name})
    return out
