"""DuckDB seconds per client per minute: one client may not keep the process's DuckDB busy.

A query of the data costs what it took in DuckDB, from nothing (a page from the row index)
to the whole time budget (a heavy filter over millions of rows, 10 s). Quotas of agreements
count calls and rows, and open data has none: an anonymous client could send near-budget
queries one after another and keep the process's few DuckDB places (``lake.reader.Places``)
busy for everyone.

So each client has an account of DuckDB time: a user (signed in, or through any of their API
tokens) one, an anonymous client one per address. The reader charges it the time each query
held its DuckDB place (``db.calls.spent``); the account drains at
``DATATORG_DUCKDB_SECONDS_PER_MINUTE`` per minute, and a query of an account that holds more
than a minute's worth is refused before it waits for a place: 429 with ``Retry-After`` (the
seconds until it is under again). A query is charged after it ran, so the last one admitted
may take an account over by at most one time budget.

The accounts live in the process (each server worker keeps its own): a client spread over
``n`` workers may spend up to ``n`` times the setting. Nothing is written to the database.
"""

from __future__ import annotations

import math
import threading
import time

from datatorg.db import calls
from datatorg.errors import TooManyRequests
from datatorg.identity.actor import Actor
from datatorg.settings import Settings
from datatorg.web.i18n import gettext as _

# Accounts kept before the drained ones are dropped (one per client seen lately).
KEEP = 4096


class Account:
    """One client's DuckDB time in this process: a bucket that drains ``per_minute``
    seconds a minute and refuses while it holds more than that (callable from any thread)."""

    def __init__(self, per_minute: float) -> None:
        self.per_minute = per_minute
        self.level = 0.0
        self._at = time.monotonic()
        self._lock = threading.Lock()

    def _drain(self) -> None:
        now = time.monotonic()
        self.level = max(0.0, self.level - (now - self._at) * self.per_minute / 60)
        self._at = now

    def check(self) -> None:
        with self._lock:
            self._drain()
            over = self.level - self.per_minute
        if over >= 0:
            wait = max(1, math.ceil(over * 60 / self.per_minute + 0.001))
            raise TooManyRequests(
                _(
                    "You have used this server's time for queries of the data for the last "
                    "minute. Try again in %(seconds)d seconds, or narrow the query with "
                    "filters."
                )
                % {"seconds": wait},
                retry_after=wait,
            )

    def spend(self, seconds: float) -> None:
        with self._lock:
            self._drain()
            self.level += seconds

    @property
    def drained(self) -> bool:
        with self._lock:
            self._drain()
            return self.level == 0


_accounts: dict[str, Account] = {}
_lock = threading.Lock()


def account(key: str, per_minute: float) -> Account:
    """The account of ``key`` in this process (made when first used)."""
    with _lock:
        found = _accounts.get(key)
        if found is None or found.per_minute != per_minute:
            if len(_accounts) >= KEEP:
                for old in [k for k, a in _accounts.items() if a.drained]:
                    del _accounts[old]
            found = _accounts[key] = Account(per_minute)
        return found


def charge_to(*, settings: Settings, actor: Actor) -> None:
    """Charge the current request's DuckDB time to its client's account: the user's, else
    the client address's (nothing outside a request, or with the setting at 0)."""
    call = calls.current.get()
    per_minute = settings.duckdb_seconds_per_minute
    if call is None or per_minute <= 0:
        return
    key = f"user {actor.user_id}" if actor.user_id else f"address {call.address}"
    call.spender = account(key, per_minute)
