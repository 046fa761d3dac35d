"""One request per consumer, offer, purpose and period: a double click, a retried POST or ten
simultaneous ones make one request (and, on an auto-approved offer, one agreement with one
quota), never several agreements whose quotas add up. SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datatorg.db import migrate
from datatorg.db.engine import make_engine
from datatorg.db.writes import write_sessionmaker
from datatorg.errors import Conflict
from datatorg.identity.models import OrgKind, Role
from datatorg.market import service
from datatorg.market.metering import today as utc_today
from datatorg.market.models import AccessRequest, Agreement
from tests.factories import actor_of, make_org, make_token
from tests.market.conftest import World, make_dataset, offer_data, quick_user, request_data
from tests.pg import PostgresServer

THREADS = 10


def test_a_second_identical_request_is_refused_until_the_first_is_settled(
    client: TestClient, session: Session, world: World
) -> None:
    consumer = actor_of(session, world.consumer)
    steward = actor_of(session, world.steward)
    first = service.create_request(
        session=session, settings=None, actor=consumer, data=request_data(world.offer)
    )
    headers = make_token(session, world.consumer)
    body = request_data(world.offer).model_dump(mode="json")
    again = client.post("/api/v1/access-requests", json=body, headers=headers)
    assert again.status_code == 409, again.text
    assert again.headers["content-type"].startswith("application/problem+json")
    # agreed: still one contract for this purpose and period
    service.approve(session=session, settings=None, actor=steward, request_id=first.id)
    assert client.post("/api/v1/access-requests", json=body, headers=headers).status_code == 409
    # another purpose, a later period, or after the agreement ended: a request of its own
    other = request_data(world.offer, purpose="ScientificResearch")
    assert service.create_request(session=session, settings=None, actor=consumer, data=other)
    later = utc_today() + timedelta(days=100)
    after = request_data(world.offer, period_start=later, period_end=later + timedelta(days=30))
    assert service.create_request(session=session, settings=None, actor=consumer, data=after)
    assert first.agreement_id is not None
    service.revoke(
        session=session, settings=None, actor=steward, agreement_id=first.agreement_id, reason="r"
    )
    assert service.create_request(
        session=session, settings=None, actor=consumer, data=request_data(world.offer)
    )
    with pytest.raises(Conflict):
        service.create_request(
            session=session, settings=None, actor=consumer, data=request_data(world.offer)
        )


def _fresh_url(pg_server: PostgresServer | None, tmp_path: Path) -> str:
    if pg_server is not None:
        return pg_server.create_database(f"dup_{tmp_path.name[-12:].replace('-', '_').lower()}")
    return f"sqlite:///{tmp_path / 'dup.sqlite3'}"


def test_ten_simultaneous_requests_make_one_agreement(
    pg_server: PostgresServer | None, tmp_path: Path
) -> None:
    url = _fresh_url(pg_server, tmp_path)
    make_engine(url).dispose()
    migrate.upgrade(url)
    engine = make_engine(url)
    factory = write_sessionmaker(engine)  # as the app's unsafe requests
    try:
        with factory() as session:
            provider = make_org(session, kind=OrgKind.public_sector)
            school = make_org(session, kind=OrgKind.education)
            publisher = quick_user(session, provider, Role.publisher)
            consumer = quick_user(session, school, Role.consumer)
            ds = make_dataset(session, provider)
            offer = service.create_offer(
                session=session,
                actor=actor_of(session, publisher),
                data=offer_data(ds, auto_approve=True, aggregate_only=True),
            )
            session.commit()
            data = request_data(offer)
        outcomes: list[str] = []
        start = threading.Barrier(THREADS)

        def worker() -> None:
            try:
                start.wait()
                with factory() as s:
                    service.create_request(
                        session=s, settings=None, actor=actor_of(s, consumer), data=data
                    )
                    s.commit()
                outcomes.append("created")
            except Conflict:
                outcomes.append("conflict")
            except BaseException as exc:  # reported below
                outcomes.append(repr(exc))

        threads = [threading.Thread(target=worker) for _ in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert sorted(outcomes) == ["conflict"] * (THREADS - 1) + ["created"], outcomes
        with factory() as session:
            assert session.scalar(select(func.count()).select_from(AccessRequest)) == 1
            assert session.scalar(select(func.count()).select_from(Agreement)) == 1
    finally:
        engine.dispose()
