"""The Halden simulator: plausible readings (pure, every device over a day), and, end to end,
readings published to a real Mosquitto broker that the ingest worker stores in the live
datasets and the NGSI-LD temporal API gives back, through the gate (the waste containers
are restricted: their owner reads them, a stranger does not)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import mean
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

import datatorg.db.models  # noqa: F401  (every table)
from datatorg.app import create_app
from datatorg.db.engine import make_engine, make_sessionmaker
from datatorg.demo import sensors as sensors_demo
from datatorg.identity import service as identity
from datatorg.identity.models import OrgKind, Role
from datatorg.sensors import mqtt as subscriber_mod
from datatorg.sensors import simulator
from datatorg.sensors.sdm import MODELS
from datatorg.settings import Settings
from tests.conftest import TEST_SECRET
from tests.factories import make_token, make_user
from tests.mqtt import Broker
from tests.sensors.test_sdm import validate

TYPES = ("AirQualityObserved", "WasteContainer")
DAY = datetime(2026, 11, 30, tzinfo=UTC)  # a Monday
# physical ranges of each measured attribute
RANGES = {
    "no2": (0, 200),
    "pm10": (0, 150),
    "pm25": (0, 100),
    "temperature": (-30, 40),
    "intensity": (0, 2000),
    "averageVehicleSpeed": (0, 90),
    "occupancy": (0, 1),
    "relativeHumidity": (0, 1),
    "windSpeed": (0, 40),
    "precipitation": (0, 50),
    "fillingLevel": (0, 1),
    "illuminanceLevel": (0, 1),
    "availableCapacity": (0, 4),
}


def test_every_device_reads_plausibly_over_a_day() -> None:
    fleet = simulator.devices()
    assert len(fleet) == sum(n for _, n, _, _ in simulator.FLEET) == 273
    assert fleet == simulator.devices()  # deterministic for a seed
    assert len({(d.latitude, d.longitude) for d in fleet}) == len(fleet)
    for d in fleet:  # in Halden, on land
        assert 59.08 < d.latitude < 59.17 and 11.33 < d.longitude < 11.45, d
    by_hour: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for d in fleet:
        model = MODELS[d.type_name]
        for hour in range(24):
            at = DAY + timedelta(hours=hour, minutes=7)
            values = simulator.reading(d, at)
            assert set(values) == {m.name for m in model.measured}, d.type_name
            for name, value in values.items():
                if name in RANGES:
                    low, high = RANGES[name]
                    assert low <= value <= high, (d.entity_id, at, name, value)
            # valid as a Smart Data Model (types, enumerations), as the SDM test checks
            kv = {"id": d.entity_id, "type": d.type_name, "location": {}, **values}
            kv |= {key: value for key, value in model.static.items()}
            if model.time_attribute:
                kv[model.time_attribute] = at.strftime("%Y-%m-%dT%H:%M:%SZ")
            assert [p for p in validate(model, kv) if not p.startswith("missing")] == []
            by_hour.setdefault((d.type_name, hour), []).append(values)

    def avg(type_name: str, hour: int, name: str) -> float:
        return mean(float(v[name]) for v in by_hour[(type_name, hour)])

    # the city's day: more NO2 and traffic in the morning rush than at night, lights at
    # night, fewer free chargers in the afternoon than at night
    assert avg("AirQualityObserved", 8, "no2") > avg("AirQualityObserved", 3, "no2") + 5
    assert avg("TrafficFlowObserved", 8, "intensity") > 2 * avg(
        "TrafficFlowObserved", 3, "intensity"
    )
    assert all(v["powerState"] == "on" for v in by_hour[("Streetlight", 23)])
    assert all(v["powerState"] == "off" for v in by_hour[("Streetlight", 12)])
    chargers = "EVChargingStation"
    assert avg(chargers, 16, "availableCapacity") < avg(chargers, 3, "availableCapacity")
    # containers fill up between emptyings: a week of one container rises, then drops
    one = next(d for d in fleet if d.type_name == "WasteContainer")
    levels = [
        simulator.reading(one, DAY + timedelta(hours=h))["fillingLevel"] for h in range(0, 168, 6)
    ]
    assert max(levels) >= 0.8 and min(levels) <= 0.2
    assert sum(b < a for a, b in zip(levels, levels[1:], strict=False)) <= 3  # few emptyings
    assert simulator.reading(one, DAY, seed=1) != simulator.reading(one, DAY, seed=2)


@pytest.fixture
def city(own_database: str, tmp_path: Path, broker: Broker) -> Iterator[dict[str, Any]]:
    """A database with the demo's air-quality and waste streams (a day of history each),
    their owners' tokens, and the app serving it."""
    settings = Settings(
        env="test",
        database_url=own_database,
        lake_path=tmp_path / "lake",
        mqtt_url=broker.url,
        mqtt_client_id=f"test-{uuid.uuid4().hex[:8]}",
        secret_key=TEST_SECRET,  # type: ignore[arg-type]
        mail_enabled=False,
    )
    engine = make_engine(own_database)
    factory = make_sessionmaker(engine)
    headers = {}
    with factory() as session:
        for slug in ("halden-kommune", "fjordsensor", "strangers"):
            org = identity.create_organisation(
                session=session, slug=slug, name=slug, kind=OrgKind.business
            )
            user = make_user(session, org=org, roles=(Role.publisher,))
            headers[slug] = make_token(session, user)
        session.flush()
        for type_name in TYPES:
            sensors_demo.load(session=session, settings=settings, only=type_name)
        session.commit()
    app = create_app(settings)
    with TestClient(app) as client:
        yield {"settings": settings, "factory": factory, "headers": headers, "client": client}
    app.state.engine.dispose()
    engine.dispose()


def _simulate(settings: Settings, factory: sessionmaker[Session], rounds: int) -> list[datetime]:
    """Run the ingest worker's subscriber and ``rounds`` rounds of the simulator (a second
    apart); returns the rounds' first possible timestamps."""
    sub = subscriber_mod.Subscriber(settings, factory)
    stop = threading.Event()
    sub.start()
    assert sub.connected.wait(10)
    thread = threading.Thread(target=sub.run, kwargs={"until": stop}, daemon=True)
    thread.start()
    starts = []
    try:
        for _ in range(rounds):
            time.sleep(1.1)  # a new second: no reading repeats a timestamp
            starts.append(datetime.now(UTC).replace(microsecond=0))
            sent = simulator.run(settings.mqtt_url, prefix=settings.mqtt_topic_prefix, rounds=1)
            assert sent == 273
        deadline = time.monotonic() + 120
        while sub.stats.acked < 273 * rounds and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sub.stats.acked >= 273 * rounds
    finally:
        stop.set()
        thread.join(10)
        sub.stop()
    return starts


def test_simulated_readings_land_in_the_live_datasets_and_read_back_as_ngsi_ld(
    city: dict[str, Any],
) -> None:
    client, headers = city["client"], city["headers"]
    starts = _simulate(city["settings"], city["factory"], rounds=2)
    since = (starts[0] - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    fleet = {d.entity_id: d for d in simulator.devices()}

    # the air-quality stations: open data, every station's two new readings with their
    # observation times, plausible, in the live dataset's rows too
    aq = MODELS["AirQualityObserved"]
    r = client.get(
        "/ngsi-ld/v1/temporal/entities",
        params={
            "type": aq.type_iri,
            "timerel": "after",
            "timeAt": since,
            "attrs": aq.iri("no2"),
            "limit": "100",
            "options": "temporalValues",
        },
    )
    assert r.status_code == 200, r.text
    stations = r.json()
    assert len(stations) == 20
    for ent in stations:
        [values] = [v for k, v in ent.items() if k.endswith("no2")]
        seen = values["values"]
        assert len(seen) == 2, (ent["id"], seen)
        for value, observed in seen:
            at = datetime.fromisoformat(observed.replace("Z", "+00:00"))
            assert at >= starts[0]
            assert value == simulator.reading(fleet[ent["id"]], at)["no2"]
    rows = client.get(
        "/api/v1/datasets/luftkvalitet-sanntid/rows",
        params={"observedAt__gte": since.rstrip("Z"), "_size": "100"},
    ).json()
    assert len(rows["rows"]) == 40  # 20 stations x 2 rounds, on top of the day of history

    # the waste containers: restricted — their owner reads them, anyone else is refused
    wc = MODELS["WasteContainer"]
    params = {
        "type": wc.type_iri,
        "timerel": "after",
        "timeAt": since,
        "attrs": wc.iri("fillingLevel"),
        "limit": "100",
        "lastN": "1",
    }
    owner = client.get(
        "/ngsi-ld/v1/temporal/entities", params=params, headers=headers["fjordsensor"]
    )
    assert owner.status_code == 200, owner.text
    assert len(owner.json()) == 100 and owner.headers.get("Link")
    for ent in owner.json():
        [instances] = [v for k, v in ent.items() if k.endswith("fillingLevel")]
        assert len(instances) == 1 and 0 <= instances[0]["value"] <= 1
    stranger = client.get(
        "/ngsi-ld/v1/temporal/entities", params=params, headers=headers["strangers"]
    )
    assert stranger.status_code == 403 and stranger.json()["failed_term"] == "agreement"
    latest = client.get(
        f"/ngsi-ld/v1/entities/{owner.json()[0]['id']}", headers=headers["fjordsensor"]
    ).json()
    assert latest[wc.iri("fillingLevel")]["observedAt"] >= since
