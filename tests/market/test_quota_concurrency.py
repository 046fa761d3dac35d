"""Exact quotas under concurrency, on a real server over SQLite and over PostgreSQL: N reads at
once against a quota of k get exactly k answers and N − k 429s with Retry-After; rows handed
out never exceed the monthly quota; every channel returns at most ``_size`` rows."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.audit.models import AuditEvent
from datatorg.identity.models import OrgKind, Role
from datatorg.lake import service as lake
from datatorg.lake.models import WriteMode
from datatorg.market.metering import today as utc_today
from datatorg.market.models import UsageDay
from tests import gate_world
from tests.conftest import TEST_SECRET
from tests.factories import make_org
from tests.live import LiveServer
from tests.pg import PostgresServer

ROWS = 200


@pytest.fixture(scope="module")
def server(
    pg_server: PostgresServer | None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """A real server on a database of its own: SQLite in the SQLite pass, PostgreSQL in the
    PostgreSQL pass (each request its own connection, as in production)."""
    root = tmp_path_factory.mktemp("quota")
    url = None
    if pg_server is not None:
        url = pg_server.create_database(f"quota_{uuid.uuid4().hex[:10]}")
    live = LiveServer(root, TEST_SECRET, database_url=url)
    live.start()
    try:
        yield live
    finally:
        live.stop()


def _world(server: LiveServer, **terms: Any) -> tuple[str, dict[str, str], uuid.UUID]:
    """A non-open dataset of ROWS rows and a consumer's agreement-scoped token under
    ``terms``: (slug, headers, agreement id)."""

    def setup(session: Session) -> tuple[str, dict[str, str], uuid.UUID]:
        owner = make_org(session, kind=OrgKind.public_sector)
        school = make_org(session, kind=OrgKind.education)
        publisher = gate_world.user(session, owner, Role.publisher)
        consumer = gate_world.user(session, school, Role.consumer)
        ds = gate_world.make_dataset(session, owner)
        folder = lake.new_staging(server.settings)
        (folder / "source").write_text(
            "n,place\n" + "".join(f"{i},p{i % 7}\n" for i in range(ROWS))
        )
        lake.ingest_file(
            session=session,
            settings=server.settings,
            dataset=ds,
            source=folder / "source",
            filename="q.csv",
            mode=WriteMode.replace,
            uploaded_by=None,
        )
        aid, _, _ = gate_world.agreement(session, ds, publisher, consumer, **terms)
        return ds.slug, gate_world.bearer(session, consumer, agreement_id=aid), aid

    result: tuple[str, dict[str, str], uuid.UUID] = server.with_session(setup)
    return result


def _usage(server: LiveServer, aid: uuid.UUID) -> tuple[int, int]:
    def read(session: Session) -> tuple[int, int]:
        row = session.query(UsageDay).filter_by(agreement_id=aid, day=utc_today()).one_or_none()
        return (row.calls, row.rows) if row else (0, 0)

    result: tuple[int, int] = server.with_session(read)
    return result


def _all_at_once(urls: list[str], headers: dict[str, str]) -> list[httpx.Response]:
    with ThreadPoolExecutor(len(urls)) as pool:
        return list(pool.map(lambda u: httpx.get(u, headers=headers, timeout=60), urls))


def test_n_concurrent_reads_against_a_call_quota_of_k(server: LiveServer) -> None:
    k, n = 5, 30
    slug, headers, aid = _world(server, calls_per_day=k)
    url = f"{server.url}/api/v1/datasets/{slug}/rows?_size=2"
    answers = _all_at_once([url] * n, headers)
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200] * k + [429] * (n - k), statuses
    for r in answers:
        if r.status_code == 429:
            assert int(r.headers["retry-after"]) > 0
            assert r.headers["content-type"].startswith("application/problem+json")
            assert "rows" not in r.json() and r.json()["failed_term"] == "quota"
    assert _usage(server, aid) == (k, 2 * k)

    def outcomes(session: Session) -> list[str]:
        ds_id = str(lake.get_dataset(session=session, ref=slug).id)
        found = session.scalars(
            select(AuditEvent.outcome).where(
                AuditEvent.target_id == ds_id, AuditEvent.action == "data.read"
            )
        ).all()
        return sorted(found)

    assert server.with_session(outcomes) == ["denied"] * (n - k) + ["ok"] * k


def test_concurrent_reads_never_hand_out_more_rows_than_the_month_has(
    server: LiveServer,
) -> None:
    slug, headers, aid = _world(server, rows_per_month=25)
    urls = [f"{server.url}/api/v1/datasets/{slug}/rows?_size=10&n__gte={i}" for i in range(10)]
    answers = _all_at_once(urls, headers)
    got = [len(r.json()["rows"]) for r in answers if r.status_code == 200]
    refused = [r for r in answers if r.status_code != 200]
    assert sum(got) == 25 and all(0 < g <= 10 for g in got), got
    assert all(r.status_code == 429 for r in refused)
    assert len(got) + len(refused) == 10
    assert _usage(server, aid) == (len(got), 25)


def test_every_channel_returns_at_most_size_and_never_more_than_is_left(
    server: LiveServer,
) -> None:
    slug, headers, aid = _world(server, rows_per_month=10)
    base = f"{server.url}/api/v1/datasets/{slug}"
    for fmt in ("csv", "json", "ndjson", "xlsx", "parquet"):
        r = httpx.get(f"{base}/download.{fmt}?_size=0", headers=headers, timeout=60)
        assert r.status_code == 200, (fmt, r.text)
        if fmt == "csv":
            assert list(csv.reader(io.StringIO(r.text)))[1:] == []
    r = httpx.get(f"{base}/download.csv?_size=3", headers=headers, timeout=60)
    assert len(list(csv.reader(io.StringIO(r.text)))) == 1 + 3
    r = httpx.get(f"{base}/download.ndjson?_size=2", headers=headers, timeout=60)
    assert len(r.text.splitlines()) == 2
    # 5 of 10 rows are used: a plain download delivers and bills the 5 left, not more
    r = httpx.get(f"{base}/download.csv", headers=headers, timeout=60)
    assert len(list(csv.reader(io.StringIO(r.text)))) == 1 + 5
    assert _usage(server, aid)[1] == 10
    r = httpx.get(f"{base}/download.csv", headers=headers, timeout=60)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    ckan = httpx.get(
        f"{server.url}/api/3/action/datastore_search?resource_id={slug}&limit=3",
        headers=headers,
        timeout=60,
    )
    assert ckan.status_code == 429 and ckan.json()["success"] is False
