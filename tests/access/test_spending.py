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
