"""Acknowledged observations survive SIGKILL at random moments, over HTTP and over MQTT.

HTTP: the app runs in a child process; a client posts batches of 50 and writes down each
batch answered 2xx; the server is killed at a random moment, restarted, and every written-
down batch must be stored whole (and no batch half). MQTT: the ingest worker (subscriber
plus back-to-back compaction) runs in a child that is killed at random moments while
messages are published; once it has drained the broker, every published observation must be
stored exactly once, whatever the kills hit (a micro-batch, a merge, a fold).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy.orm import Session

from datatorg.db.engine import make_engine, make_sessionmaker
from datatorg.lake import service as lake
from datatorg.sensors import service
from tests.mqtt import Broker, free_port
from tests.sensors import kill_child
from tests.sensors.helpers import make_stream

KILLS = 5
BATCH = 50
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _rows(session: Session, lake_path: str, db_url: str, slug: str) -> list[tuple[Any, ...]]:
    settings = kill_child.settings(db_url, lake_path)
    ref = service.get_stream(session=session, ref=slug)
    head = lake.head_files(session=session, settings=settings, dataset_id=ref.dataset.id)
    if head is None:
        return []
    assert all(p.exists() for p in head.paths)
    files = ", ".join(f"'{p}'" for p in head.paths)
    return duckdb.sql(f"SELECT entityId, observedAt, count FROM read_parquet([{files}])").fetchall()


def _start(target: Callable[..., None], *args: Any) -> multiprocessing.process.BaseProcess:
    child = multiprocessing.get_context("fork").Process(target=target, args=args, daemon=True)
    child.start()
    return child


def _kill(child: multiprocessing.process.BaseProcess) -> None:
    assert child.pid is not None
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    assert child.exitcode == -signal.SIGKILL


@pytest.mark.slow
def test_sigkill_of_the_http_ingest_loses_no_acknowledged_batch(
    own_database: str, tmp_path: Path
) -> None:
    lake_path = str(tmp_path / "lake")
    factory = make_sessionmaker(make_engine(own_database))
    with factory() as session:
        s = make_stream(session, devices=5)
        session.commit()
    rng = random.Random(15)
    acked: list[int] = []
    batch_no = 0
    for _ in range(KILLS):
        port = free_port()
        child = _start(kill_child.serve_http, own_database, lake_path, port)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        stop = threading.Event()

        def post(url: str, stop: threading.Event) -> None:
            nonlocal batch_no
            with httpx.Client(base_url=url, headers=s.headers, timeout=30) as client:
                while not stop.is_set():
                    batch_no += 1
                    n = batch_no
                    body = [
                        {
                            "entityId": s.devices[i % 5],
                            "observedAt": _stamp(n * BATCH + i),
                            "count": n,
                            "no2": float(i),
                        }
                        for i in range(BATCH)
                    ]
                    try:
                        r = client.post(f"/api/v1/sensors/streams/{s.slug}/observations", json=body)
                    except httpx.HTTPError:
                        return  # killed mid-request: not acknowledged
                    assert r.status_code == 200, r.text
                    acked.append(n)

        poster = threading.Thread(target=post, args=(url, stop))
        poster.start()
        acked_before = len(acked)
        deadline = time.monotonic() + 60
        while len(acked) == acked_before and time.monotonic() < deadline:
            time.sleep(0.01)  # the server is taking batches: now kill it at a random moment
        time.sleep(rng.uniform(0.0, 0.8))
        _kill(child)
        stop.set()
        poster.join(30)
        with factory() as session:
            rows = _rows(session, lake_path, own_database, s.slug)
        per_batch: dict[int, int] = {}
        for _, _, n in rows:
            per_batch[n] = per_batch.get(n, 0) + 1
        assert set(acked) <= set(per_batch), "an acknowledged batch was lost"
        assert all(v == BATCH for v in per_batch.values()), "a batch is half stored"
        assert len(rows) == len({(e, t) for e, t, _ in rows}), "a row is stored twice"
    assert len(acked) >= KILLS
    factory.kw["bind"].dispose()


def _stamp(i: int) -> str:
    """A unique observation time per number: one second apart from 2026-11-01."""
    return (T0 + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.slow
def test_sigkill_of_the_mqtt_worker_loses_no_published_observation(
    own_database: str, tmp_path: Path, broker: Broker
) -> None:
    lake_path = str(tmp_path / "lake")
    factory = make_sessionmaker(make_engine(own_database))
    with factory() as session:
        s = make_stream(session, devices=8)
        session.commit()
    host, port = "127.0.0.1", broker.port
    # the worker's persistent session must exist before anything is published to it
    child = _start(kill_child.run_worker, own_database, lake_path, broker.url)
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:6]}")
    publisher.connect(host, port)
    publisher.loop_start()
    probe = json.dumps({"observedAt": "2026-10-01T00:00:00Z", "count": -1, "no2": 0.0})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the worker's session exists once a probe is stored
        publisher.publish("datatorg/AirQualityObserved/dev-0", probe, qos=1).wait_for_publish(10)
        time.sleep(1)
        with factory() as session:
            if any(n == -1 for _, _, n in _rows(session, lake_path, own_database, s.slug)):
                break
    rng = random.Random(16)
    sent = 0
    try:
        for _ in range(KILLS):
            infos = []
            for _ in range(rng.randint(300, 900)):
                dev = sent % 8
                payload = json.dumps({"observedAt": _stamp(sent), "count": sent, "no2": 1.5})
                infos.append(
                    publisher.publish(f"datatorg/AirQualityObserved/dev-{dev}", payload, qos=1)
                )
                sent += 1
            time.sleep(rng.uniform(0.05, 0.8))
            _kill(child)
            for info in infos:
                info.wait_for_publish(timeout=10)
            child = _start(kill_child.run_worker, own_database, lake_path, broker.url)
        expected = set(range(sent)) | {-1}
        deadline = time.monotonic() + 120
        got: set[int] = set()
        folds = 0
        while time.monotonic() < deadline:  # drained, and compaction folded at least once
            with factory() as session:
                rows = _rows(session, lake_path, own_database, s.slug)
                ref = service.get_stream(session=session, ref=s.slug)
                folds = len(lake.versions(session=session, dataset_id=ref.dataset.id)) - 1
            got = {n for _, _, n in rows}
            if got >= expected and folds > 0:
                break
            time.sleep(0.5)
        assert got == expected, f"{len(expected - got)} published observations missing"
        assert folds > 0, "compaction never folded"
        assert len(rows) == sent + 1, "an observation is stored twice"
        with factory() as session:
            counts = service.counters(session=session, scope=s.slug)[s.slug]["mqtt"]
        assert counts["accepted"] == sent + 1  # and the probe
    finally:
        if child.is_alive():
            _kill(child)
        factory.kw["bind"].dispose()
        publisher.disconnect()
        publisher.loop_stop()
        publisher._reset_sockets(sockpair_only=True)
