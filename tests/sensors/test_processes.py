"""``datatorg serve --simulate`` (``make demo SIMULATE=1``): with no broker listening it starts
Debian's Mosquitto, the ingest worker and the simulator beside the web server, so the demo's
dashboards move; and stops them all with the server."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from datatorg.db.engine import make_engine, make_sessionmaker
from datatorg.demo import sensors as sensors_demo
from datatorg.identity import service as identity
from datatorg.identity.models import OrgKind, Role
from datatorg.sensors import processes
from datatorg.sensors.models import SensorEntity
from datatorg.settings import Settings
from tests.conftest import TEST_SECRET
from tests.factories import make_user
from tests.mqtt import free_port


@pytest.mark.slow
def test_serve_simulate_runs_a_broker_the_worker_and_the_simulator(
    own_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"mqtt://127.0.0.1:{free_port()}"  # nothing listens there: a broker is started
    env = {
        "DATATORG_ENV": "test",
        "DATATORG_DATABASE_URL": own_database,
        "DATATORG_LAKE_PATH": str(tmp_path / "lake"),
        "DATATORG_SECRET_KEY": TEST_SECRET,
        "DATATORG_MAIL_ENABLED": "false",
        "DATATORG_MQTT_URL": url,
        "DATATORG_MQTT_CLIENT_ID": f"test-{uuid.uuid4().hex[:8]}",
    }
    for key, value in env.items():  # the children read their settings from the environment
        monkeypatch.setenv(key, value)
    settings = Settings()
    engine = make_engine(own_database)
    factory = make_sessionmaker(engine)
    with factory() as session:
        org = identity.create_organisation(
            session=session, slug="fjordsensor", name="Fjordsensor", kind=OrgKind.business
        )
        make_user(session, org=org, roles=(Role.publisher,))
        session.flush()
        sensors_demo.load(session=session, settings=settings, only="AirQualityObserved")
        session.commit()
    start = datetime.now(UTC).replace(microsecond=0)
    children = processes.start(settings, simulate=True, var=tmp_path / "var")
    try:
        assert len(children) == 3  # broker, ingest worker, simulator
        assert (tmp_path / "var" / "mosquitto" / "mosquitto.conf").exists()
        fresh = 0
        deadline = time.monotonic() + 90
        while fresh < 20 and time.monotonic() < deadline:  # every station has a new reading
            time.sleep(0.5)
            with factory() as session:
                fresh = (
                    session.scalar(select(func.count()).where(SensorEntity.observed_at >= start))
                    or 0
                )
            assert all(c.poll() is None for c in children), [c.returncode for c in children]
        assert fresh == 20
    finally:
        processes.stop(children)
        engine.dispose()
    assert all(c.poll() is not None for c in children)
