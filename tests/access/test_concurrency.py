"""Concurrent reads on a real server: every one answered and audited (SQLite write locks)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy.orm import Session

from datatorg.audit import service as audit
from datatorg.catalog.models import Dataset, DatasetStatus
from datatorg.identity import service as identity
from datatorg.lake import service as lake
from datatorg.lake.models import WriteMode
from tests.live import LiveServer


def test_parallel_reads_and_an_upload_all_succeed(live_server: LiveServer) -> None:
    def setup(session: Session) -> str:
        n = uuid.uuid4().hex[:8]
        org = identity.create_organisation(session=session, slug=f"c-{n}", name="C")
        ds = Dataset(
            slug=f"c-{n}", title_nb="C", publisher_id=org.id, status=DatasetStatus.published
        )
        session.add(ds)
        session.flush()
        folder = lake.new_staging(live_server.settings)
        (folder / "source").write_text("a,b\n" + "".join(f"{i},x{i}\n" for i in range(1000)))
        lake.ingest_file(
            session=session,
            settings=live_server.settings,
            dataset=ds,
            source=folder / "source",
            filename="c.csv",
            mode=WriteMode.replace,
            uploaded_by=None,
        )
        return str(ds.id)

    ds_id = live_server.with_session(setup)
    before = live_server.with_session(
        lambda s: audit.count(session=s, action="data.read", target_id=ds_id)
    )
    url = f"{live_server.url}/api/v1/datasets/{ds_id}/rows?a__gt=10&_sort_desc=a&_size=5"

    def get(_: int) -> int:
        return httpx.get(url, timeout=60).status_code

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(get, range(96)))
    assert statuses == [200] * 96
    after = live_server.with_session(
        lambda s: audit.count(session=s, action="data.read", target_id=ds_id)
    )
    assert after == before + 96
    assert live_server.with_session(lambda s: audit.verify_chain(session=s).ok)
