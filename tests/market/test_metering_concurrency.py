"""record_usage from several workers at once loses no count (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from datatorg.db import migrate
from datatorg.db.engine import make_engine, make_sessionmaker
from datatorg.identity.models import OrgKind, Role
from datatorg.market import metering, service
from datatorg.market.metering import today as utc_today
from tests.factories import actor_of, make_org
from tests.market.conftest import make_dataset, offer_data, quick_user, request_data
from tests.pg import PostgresServer

THREADS, EACH = 4, 25


def _fresh_url(pg_server: PostgresServer | None, tmp_path: Path) -> str:
    if pg_server is not None:
        return pg_server.create_database(f"meter_{tmp_path.name[-12:].replace('-', '_').lower()}")
    return f"sqlite:///{tmp_path / 'meter.sqlite3'}"


def _agreement(session: Session) -> object:
    provider = make_org(session, kind=OrgKind.public_sector)
    school = make_org(session, kind=OrgKind.education)
    publisher = quick_user(session, provider, Role.publisher)
    consumer = quick_user(session, school, Role.consumer)
    ds = make_dataset(session, provider)
    offer = service.create_offer(
        session=session, actor=actor_of(session, publisher), data=offer_data(ds)
    )
    req = service.create_request(
        session=session, settings=None, actor=actor_of(session, consumer), data=request_data(offer)
    )
    return service.approve(
        session=session, settings=None, actor=actor_of(session, publisher), request_id=req.id
    )


def test_concurrent_upserts_add_up(pg_server: PostgresServer | None, tmp_path: Path) -> None:
    url = _fresh_url(pg_server, tmp_path)
    make_engine(url).dispose()
    migrate.upgrade(url)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    try:
        with factory() as session:
            agreement = _agreement(session)
            session.commit()
            aid = agreement.id  # type: ignore[attr-defined]
        errors: list[BaseException] = []
        start = threading.Barrier(THREADS)

        def worker() -> None:
            try:
                start.wait()
                for _ in range(EACH):
                    with factory() as s:
                        service.record_usage(session=s, agreement_id=aid, rows=3, nbytes=7)
                        s.commit()
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert errors == []
        with factory() as session:
            today = utc_today()
            got = metering.totals(
                session=session, agreement_id=aid, start=today, end=today + timedelta(days=1)
            )
        n = THREADS * EACH
        assert got == (n, 3 * n, 7 * n)
    finally:
        engine.dispose()
