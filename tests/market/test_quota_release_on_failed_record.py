"""A rows read whose audit record fails gives its quota back, on the loop path (SQLite) and
the one-trip path (PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.access import journal
from tests.factories import make_token
from tests.market.conftest import World
from tests.market.test_gate_reads import _agreement, _contents


def test_a_failed_audit_record_releases_the_reservation(
    client: TestClient, session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    publisher = make_token(session, world.publisher)
    steward = make_token(session, world.steward)
    consumer = make_token(session, world.consumer)
    _contents(client, world, publisher)
    _agreement(client, world, publisher, steward, consumer, calls_per_day=2, rows_per_month=4)
    url = f"/api/v1/datasets/{world.dataset.slug}/rows?_col=building&_col=kwh"

    def broken(*_a: Any, **_k: Any) -> None:
        raise journal.BatchFailed("the audit store is down")

    with monkeypatch.context() as m:
        m.setattr(journal, "append", broken)
        m.setattr(journal.LoopBatcher, "append", broken)
        for _ in range(3):  # more failures than the quota's calls
            assert client.get(url, headers=consumer).status_code >= 500
    first = client.get(url, headers=consumer)  # every call and row given back
    assert first.status_code == 200 and len(first.json()["rows"]) == 4, first.text
