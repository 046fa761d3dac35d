"""DuckDB seconds per client per minute (src/datatorg/access/spending.py): a client that has
spent its share of DuckDB time is refused, 429 with ``Retry-After``, in its language; other
clients are not."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.access import spending
from datatorg.catalog.models import Dataset
from datatorg.errors import TooManyRequests
from datatorg.settings import Settings
from tests.access.test_rows_api import air  # noqa: F401 (a fixture)
from tests.factories import make_token, make_user

AGGREGATE = "_group_by=station&_agg=avg(no2)&_agg=count"


@pytest.fixture
def stingy(client: TestClient, settings: Settings) -> TestClient:
    """The app with a millisecond of DuckDB time per client per minute: one query spends it."""
    client.app.state.settings = settings.model_copy(  # type: ignore[attr-defined]
        update={"duckdb_seconds_per_minute": 0.001}
    )
    return client


def test_a_client_over_its_duckdb_time_is_refused(
    stingy: TestClient,
    session: Session,
    air: Dataset,  # noqa: F811
) -> None:
    url = f"/api/v1/datasets/{air.slug}/rows?{AGGREGATE}"
    assert stingy.get(url).status_code == 200  # spends more than a millisecond
    refused = stingy.get(url, headers={"Accept-Language": "en"})
    assert refused.status_code == 429, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["retry-after"]) >= 1
    problem = refused.json()
    assert problem["status"] == 429 and problem["retry_after"] == int(
        refused.headers["retry-after"]
    )
    assert "Try again in" in problem["detail"]
    norsk = stingy.get(url, headers={"Accept-Language": "nb"})
    assert norsk.status_code == 429 and "Prøv igjen om" in norsk.json()["detail"]
    # another client (a user, by their token) has an account of its own
    headers = make_token(session, make_user(session, email="annen@example.no"))
    assert stingy.get(url, headers=headers).status_code == 200


def test_an_account_drains_at_its_rate() -> None:
    account = spending.Account(per_minute=60)  # a second per second
    account.spend(60.5)
    with pytest.raises(TooManyRequests) as refused:
        account.check()
    assert refused.value.retry_after == 1  # half a second over: a second's wait
    account.level = 59.0  # under a minute's worth: admitted
    account.check()


def test_the_limit_is_off_at_zero(
    client: TestClient,
    settings: Settings,
    air: Dataset,  # noqa: F811
) -> None:
    client.app.state.settings = settings.model_copy(  # type: ignore[attr-defined]
        update={"duckdb_seconds_per_minute": 0}
    )
    url = f"/api/v1/datasets/{air.slug}/rows?{AGGREGATE}"
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]


class _Tally:
    """A request's account that keeps what it was charged."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def check(self) -> None:
        pass

    def spend(self, seconds: float) -> None:
        self.seconds += seconds


def test_a_streamed_query_is_charged_for_its_batches() -> None:
    """``lake.reader.stream`` (the Excel download): DuckDB streams the result, so a filter's
    scan goes on while the batches are fetched; the account is charged for that too, not
    only for the query's start (which was a tenth of the work)."""
    import time

    from datatorg.db import calls
    from datatorg.lake import reader

    sql = "SELECT i FROM range(1500000) t(i) WHERE md5(i::VARCHAR) LIKE '%abc%'"
    tally = _Tally()
    call = calls.Call("192.0.2.1")
    call.spender = tally
    token = calls.current.set(call)
    try:
        began = time.monotonic()
        rows = sum(len(batch) for _, batch in reader.stream(sql, [], budget_ms=60_000))
        took = time.monotonic() - began
    finally:
        calls.current.reset(token)
    assert rows > 5000  # several batches
    assert tally.seconds >= 0.8 * took, (tally.seconds, took)
