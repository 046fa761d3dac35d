"""Simultaneous batch upserts of one new entity all succeed and make one entity.

On PostgreSQL each upsert saw no entity, tried to create it, waited for the stream's lock,
then found the entity another upsert had just made and reported ``AlreadyExists`` (207): an
upsert must replace what exists. SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from datatorg.app import create_app
from datatorg.db.engine import make_engine, make_sessionmaker
from datatorg.sensors.models import SensorEntity
from datatorg.settings import Settings
from tests.conftest import TEST_SECRET
from tests.sensors.helpers import make_stream

THREADS = 10
NEW = "urn:ngsi-ld:AirQualityObserved:new-1"


def test_simultaneous_upserts_of_a_new_entity(own_database: str, tmp_path: Path) -> None:
    settings = Settings(
        env="test",
        database_url=own_database,
        lake_path=tmp_path / "lake",
        secret_key=TEST_SECRET,  # type: ignore[arg-type]
        mail_enabled=False,
    )
    engine = make_engine(own_database)
    factory = make_sessionmaker(engine)
    with factory() as session:
        s = make_stream(session, devices=1)
        session.commit()
    app = create_app(settings)
    statuses: list[object] = []
    start = threading.Barrier(THREADS)
    try:
        with TestClient(app, base_url="https://testserver") as client:

            def upsert(i: int) -> None:
                body = [
                    {
                        "id": NEW,
                        "type": "AirQualityObserved",
                        "no2": {
                            "type": "Property",
                            "value": float(i),
                            "observedAt": f"2026-11-01T12:{i:02d}:00Z",
                        },
                    }
                ]
                try:
                    start.wait()
                    r = client.post(
                        "/ngsi-ld/v1/entityOperations/upsert", json=body, headers=s.headers
                    )
                    statuses.append(
                        r.status_code if r.status_code < 300 else (r.status_code, r.text)
                    )
                except BaseException as exc:  # reported below
                    statuses.append(repr(exc))

            threads = [threading.Thread(target=upsert, args=(i,)) for i in range(THREADS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=120)
        assert sorted(statuses, key=str) == [201] + [204] * (THREADS - 1), statuses
        with factory() as session:
            n = session.scalar(
                select(func.count()).select_from(SensorEntity).where(SensorEntity.id == NEW)
            )
            assert n == 1
    finally:
        app.state.engine.dispose()
        engine.dispose()
