"""The MQTT subscriber against a real Mosquitto broker: stored, counted, acked after commit."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy.orm import Session, sessionmaker

import datatorg.db.models  # noqa: F401  (every table)
from datatorg.db.engine import make_engine, make_sessionmaker
from datatorg.sensors import mqtt as subscriber_mod
from datatorg.sensors import service
from datatorg.sensors.models import SensorEntity
from datatorg.settings import Settings
from tests.mqtt import Broker
from tests.sensors.helpers import make_stream, stored_rows

TYPE = "AirQualityObserved"


@pytest.fixture
def world(
    own_database: str, tmp_path: Path, broker: Broker
) -> Iterator[tuple[Settings, sessionmaker[Session], str, list[str]]]:
    settings = Settings(
        env="development",
        database_url=own_database,
        lake_path=tmp_path / "lake",
        mqtt_url=broker.url,
        mqtt_client_id=f"test-{uuid.uuid4().hex[:8]}",
    )
    engine = make_engine(own_database)
    factory = make_sessionmaker(engine)
    with factory() as session:
        s = make_stream(session, devices=4, type_name=TYPE)
        session.commit()
    yield settings, factory, s.slug, s.devices
    engine.dispose()


def _publish(url: str, messages: list[tuple[str, bytes]]) -> None:
    """Publish with QoS 1 and wait for the broker's PUBACK of each."""
    host, port = subscriber_mod.broker_address(url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:6]}")
    client.connect(host, port)
    client.loop_start()
    try:
        infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
        for info in infos:
            info.wait_for_publish(timeout=10)
            assert info.is_published()
    finally:
        client.disconnect()
        client.loop_stop()


def _wait(check: Callable[[], bool], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def _running(
    settings: Settings, factory: sessionmaker[Session]
) -> tuple[Any, threading.Event, threading.Thread]:
    sub = subscriber_mod.Subscriber(settings, factory)
    stop = threading.Event()
    sub.start()
    assert sub.connected.wait(10)
    thread = threading.Thread(target=sub.run, kwargs={"until": stop}, daemon=True)
    thread.start()
    return sub, stop, thread


def _payload(minute: int, **values: Any) -> bytes:
    return json.dumps({"observedAt": f"2026-11-01T12:{minute:02d}:00Z", **values}).encode()


def test_observations_over_mqtt_are_stored_counted_and_acknowledged(
    world: tuple[Settings, sessionmaker[Session], str, list[str]],
) -> None:
    settings, factory, slug, devices = world
    sub, stop, thread = _running(settings, factory)
    try:
        good = [
            (f"datatorg/{TYPE}/dev-{i % 4}", _payload(i, no2=float(i), status="ok"))
            for i in range(40)
        ]
        bad = [
            (f"datatorg/{TYPE}/dev-0", b"{broken"),  # not JSON
            (f"datatorg/{TYPE}/dev-0", _payload(50, nope=1)),  # unknown attribute
            (f"datatorg/{TYPE}/stranger", _payload(51, no2=1.0)),  # unknown device
            (f"datatorg/{TYPE}/dev-1", _payload(1, no2=1.0)),  # duplicate of minute 1
            (f"datatorg/{TYPE}/dev-2", _payload(0, no2=2.0)),  # older than its latest
            (f"datatorg/{TYPE}/bad device", _payload(52, no2=1.0)),  # bad topic
        ]
        _publish(settings.mqtt_url, good)
        _wait(lambda: sub.stats.acked >= 40)
        _publish(settings.mqtt_url, bad)
        _wait(lambda: sub.stats.acked >= 46)
    finally:
        stop.set()
        thread.join(10)
        sub.stop()
    with factory() as session:
        rows = stored_rows(session, settings, _dataset_id(session, slug))
        assert len(rows) == 41  # 40 good + the late reading of dev-2
        counts = service.counters(session=session)
        assert counts[slug]["mqtt"] == {
            "accepted": 41,
            "duplicate": 1,
            "out_of_order": 1,
            "malformed": 2,
        }
        assert counts["-"]["mqtt"] == {"malformed": 1, "unknown_device": 1}
        ent = session.get(SensorEntity, devices[2])
        assert ent is not None
        no2 = next(v for k, v in ent.attrs.items() if k.endswith("/no2"))
        assert no2["value"] == 38.0  # the late reading (2.0) did not replace the latest


def _dataset_id(session: Session, slug: str) -> uuid.UUID:
    return service.get_stream(session=session, ref=slug).dataset.id


def test_a_failed_batch_is_not_acknowledged_and_comes_again(
    world: tuple[Settings, sessionmaker[Session], str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings, factory, slug, _ = world
    real = subscriber_mod.store_messages
    failures = {"left": 1}

    def flaky(*args: Any) -> None:
        if failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("database away")
        real(*args)

    monkeypatch.setattr(subscriber_mod, "store_messages", flaky)
    sub, stop, thread = _running(settings, factory)
    try:
        _publish(
            settings.mqtt_url,
            [(f"datatorg/{TYPE}/dev-{i % 4}", _payload(i, no2=1.0)) for i in range(20)],
        )
        _wait(lambda: sub.stats.acked >= 20)
    finally:
        stop.set()
        thread.join(10)
        sub.stop()
    assert failures["left"] == 0
    with factory() as session:
        assert len(stored_rows(session, settings, _dataset_id(session, slug))) == 20
