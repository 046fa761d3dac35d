"""Writes wait their turn: 50 concurrent mixed writes at a live server with two workers
(token creations, sign-ins, failed sign-ins, access requests with their notifications,
profile changes, notification reads, uploads' commits) all succeed, on SQLite and on
PostgreSQL (whichever the run uses). Before ``datatorg.db.writes``, two token creations at
once on SQLite gave one 500 ("database is locked") every time."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from datatorg.catalog.models import Dataset
from datatorg.db.engine import make_engine, make_sessionmaker
from datatorg.identity import service as identity
from datatorg.identity.models import Membership, Role, User
from datatorg.lake.models import DatasetHead
from datatorg.market.models import Offer
from tests.robust.server import Installation, Server, load_demo, new_installation, serve

DEMO_PASSWORD = "datatorg-demo-2026"
CONSUMER = "consumer@demo.datatorg.no"
PUBLISHER = "publisher@demo.datatorg.no"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, pg_server: Any) -> Installation:
    inst = new_installation(tmp_path_factory.mktemp("writes"), pg_server, "robust_writes")
    load_demo(inst)
    return inst


def _prepare(inst: Installation) -> dict[str, Any]:
    """Tokens, datasets to upload to and an offer to ask under (set up before the burst)."""
    engine = make_engine(inst.database_url)
    try:
        with make_sessionmaker(engine)() as s:
            users = {u.email: u for u in s.scalars(select(User))}
            consumer, publisher = users[CONSUMER], users[PUBLISHER]
            ctoken, _ = identity.create_token(session=s, user=consumer, name="burst")
            ptoken, _ = identity.create_token(session=s, user=publisher, name="burst")
            orgs = {
                m.organisation_id
                for m in s.scalars(select(Membership).where(Membership.user_id == publisher.id))
                if m.role == Role.publisher
            }
            owned = s.scalars(
                select(Dataset.slug)
                .join(DatasetHead, DatasetHead.dataset_id == Dataset.id)
                .where(Dataset.publisher_id.in_(orgs))
                .order_by(Dataset.slug)
            ).all()
            offer = s.scalars(
                select(Offer).where(Offer.active.is_(True), Offer.auto_approve.is_(False))
            ).first()
            assert offer is not None and len(owned) >= 3
            s.commit()
            return {
                "consumer": ctoken,
                "publisher": ptoken,
                "datasets": list(owned),
                "offer": str(offer.id),
                "purpose": offer.purposes[0],
            }
    finally:
        engine.dispose()


def _writes(base: str, ids: dict[str, Any]) -> list[tuple[str, Any]]:
    """Fifty writes of nine kinds, interleaved; each with the statuses that mean success."""
    consumer = {"Authorization": f"Bearer {ids['consumer']}"}
    publisher = {"Authorization": f"Bearer {ids['publisher']}"}
    today = date.today()
    jobs: list[tuple[str, Any]] = []

    def token(i: int) -> Any:
        return ("POST", "/api/v1/me/tokens", {"headers": consumer, "json": {"name": f"t{i}"}})

    def sign_in(i: int) -> Any:
        who = (CONSUMER, PUBLISHER)[i % 2]
        return ("POST", "/api/v1/auth/login", {"json": {"email": who, "password": DEMO_PASSWORD}})

    def wrong_password(i: int) -> Any:
        body = {"email": f"nobody{i}@example.no", "password": "wrong-password"}
        return ("POST", "/api/v1/auth/login", {"json": body})

    def access_request(i: int) -> Any:
        # One request per consumer, offer, purpose and period (a second is a 409): each asks
        # for a period of its own.
        start = today + timedelta(days=31 * i)
        body = {
            "offer_id": ids["offer"],
            "purpose": ids["purpose"],
            "description": f"Concurrent request number {i} for research",
            "period_start": start.isoformat(),
            "period_end": (start + timedelta(days=30)).isoformat(),
        }
        return ("POST", "/api/v1/access-requests", {"headers": consumer, "json": body})

    def profile(i: int) -> Any:
        return ("PATCH", "/api/v1/me", {"headers": consumer, "json": {"display_name": f"C {i}"}})

    def read_all(i: int) -> Any:
        return ("POST", "/api/v1/notifications/read-all", {"headers": publisher})

    def upload(i: int) -> Any:
        slug = ids["datasets"][i % len(ids["datasets"])]
        csv = f"id,value\n{i},{i * 1.5}\n{i + 1},2.5\n".encode()
        return (
            "POST",
            f"/api/v1/datasets/{slug}/versions",
            {
                "headers": publisher,
                "files": {"file": (f"burst{i}.csv", io.BytesIO(csv), "text/csv")},
                "data": {"mode": "replace"},
            },
        )

    plan = [
        (token, 10, {201}),
        (sign_in, 10, {200}),
        (wrong_password, 3, {401}),
        (access_request, 10, {201}),
        (profile, 6, {200}),
        (read_all, 5, {200, 204}),
        (upload, len(ids["datasets"][:3]), {201, 409}),
    ]
    for make, count, ok in plan:
        jobs += [(f"{make.__name__}#{i}", (make(i), ok)) for i in range(count)]
    # the uploads are a version each of three datasets; the rest fills up to fifty
    while len(jobs) < 50:
        jobs.append((f"token#{len(jobs)}", (token(len(jobs)), {201})))
    jobs.sort(key=lambda j: uuid.uuid5(uuid.NAMESPACE_OID, j[0]).hex)  # interleave the kinds
    return jobs


WRITE_WAIT_S = 120  # the server's bound on a write's wait for its turn (then a 503)
STALL_S = 45  # a request still unanswered after this: the server's threads are dumped


def _fire(base: str, job: tuple[str, Any]) -> tuple[str, int, str, set[int], float]:
    name, ((method, path, kw), ok) = job
    started = time.monotonic()
    # The client waits longer than the server's own bound, so every request gets the
    # server's answer (a success, or a 503 when a turn did not come): never a client timeout.
    with httpx.Client(base_url=base, timeout=WRITE_WAIT_S + 60) as client:
        resp = client.request(method, path, **kw)
    return name, resp.status_code, resp.text[:200], ok, time.monotonic() - started


def _watch(server: Server, done: threading.Event) -> None:
    """If the burst is still running after ``STALL_S``, have every server process write its
    threads' stacks to the server log (``kill -USR1``, datatorg.app) for the failure report."""
    if not done.wait(STALL_S):
        for pid in server.pids()[1:]:  # the workers (the first is uvicorn's supervisor)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGUSR1)


Result = tuple[str, int, str, set[int], float]


@pytest.fixture(scope="module")
def burst(demo: Installation) -> Iterator[list[Result]]:
    ids = _prepare(demo)
    jobs = _writes("", ids)
    assert len(jobs) == 50
    # The bound is generous: on a machine busy with other test runs a turn can take a while;
    # what is tested is that writes queue instead of failing (the bound: tests/robust/test_writes).
    with serve(demo, workers=2, DATATORG_WRITE_WAIT_MS=str(WRITE_WAIT_S * 1000)) as server:
        done = threading.Event()
        watcher = threading.Thread(target=_watch, args=(server, done), daemon=True)
        watcher.start()
        try:
            with ThreadPoolExecutor(max_workers=50) as pool:
                results = list(pool.map(lambda j: _fire(server.url, j), jobs))
        finally:
            done.set()
            watcher.join()
    yield results


def _report(demo: Installation, burst: list[Result]) -> str:
    slowest = sorted(burst, key=lambda r: -r[4])[:8]
    lines = [f"{n}: {code} after {s:.1f} s" for n, code, _, _, s in slowest]
    logs = "".join(
        p.read_text(errors="replace") for p in Path(demo.lake.parent).glob("server-*.log")
    )
    return "slowest: " + "; ".join(lines) + "\nserver log (end):\n" + logs[-6000:]


def test_fifty_concurrent_writes_all_succeed(demo: Installation, burst: list[Result]) -> None:
    failed = [(n, code, text) for n, code, text, ok, _ in burst if code not in ok]
    assert failed == [], _report(demo, burst)


def test_no_write_needed_a_second_try(burst: list[Result]) -> None:
    # Every kind of write really ran (no 503 hidden behind an accepted status).
    assert {code for _, code, _, _, _ in burst} <= {200, 201, 204, 401, 409}
    uploads = [code for n, code, _, _, _ in burst if n.startswith("upload")]
    assert uploads and all(code == 201 for code in uploads)


def test_the_server_log_has_no_lock_errors(demo: Installation, burst: Any) -> None:
    logs = "".join(
        p.read_text(errors="replace") for p in Path(demo.lake.parent).glob("server-*.log")
    )
    assert "database is locked" not in logs
    assert "unhandled error" not in logs
    assert "Thread 0x" not in logs, _report(demo, burst)  # no request stalled (see _watch)
