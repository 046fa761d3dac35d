"""Regular expressions clients send (``idPattern``, ``q``'s ``~=``), matched in linear time.

Python's ``re`` backtracks: ``(.*)*x`` against a 30-character entity id runs for minutes, so
one anonymous query could hold a worker. Client patterns are compiled with RE2 instead
(``google-re2``: no backreferences or lookaround, time linear in the text, memory capped),
which covers what NGSI-LD's idPattern and ``~=`` are used for.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2

from datatorg.sensors.ngsi.errors import BadRequestData

MAX_PATTERN = 500
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # a client's bad pattern is its 400, not a log line
_OPTIONS.max_mem = 1 << 20


@lru_cache(maxsize=256)
def _compiled(raw: str) -> Any:
    return re2.compile(raw, options=_OPTIONS)


def compile_pattern(raw: Any, what: str = "idPattern") -> Any:
    """``raw`` as a pattern (``.fullmatch`` / ``.search``); ``BadRequestData`` naming
    ``what`` when it is too long or not a regular expression RE2 takes."""
    text = str(raw)
    if len(text) > MAX_PATTERN:
        raise BadRequestData(f"{what}: at most {MAX_PATTERN} characters")
    try:
        return _compiled(text)
    except (re2.error, TypeError, ValueError):
        raise BadRequestData(
            f"{what} is not a regular expression this server takes (no backreferences or "
            "lookaround)"
        ) from None
