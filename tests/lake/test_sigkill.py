"""A writer killed at random moments leaves the dataset at the old or the new version."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
import uuid
from pathlib import Path

import duckdb
import pytest

from datatorg.catalog.models import Dataset, DatasetStatus
from datatorg.db import migrate
from datatorg.db.engine import make_engine, make_sessionmaker
from datatorg.identity import service as identity
from datatorg.lake import gc, service
from datatorg.lake.models import DatasetVersion
from datatorg.settings import Settings
from tests.lake import writer_child

KILLS = 10


def _setup(tmp_path: Path) -> tuple[str, Path, str]:
    db_url = f"sqlite:///{tmp_path / 'kill.sqlite3'}"
    make_engine(db_url).dispose()
    migrate.upgrade(db_url)
    factory = make_sessionmaker(make_engine(db_url))
    with factory() as session:
        org = identity.create_organisation(session=session, slug="kill-org", name="Kill")
        ds = Dataset(
            slug="kill", title_nb="Kill", publisher_id=org.id, status=DatasetStatus.published
        )
        session.add(ds)
        session.commit()
        return db_url, tmp_path / "lake", str(ds.id)


@pytest.mark.slow
def test_sigkill_leaves_old_or_new_version_and_loses_no_acknowledged_append(
    tmp_path: Path,
) -> None:
    db_url, lake, dataset_id = _setup(tmp_path)
    ack = tmp_path / "acks.txt"
    ack.touch()
    settings = Settings(env="development", database_url=db_url, lake_path=lake)
    factory = make_sessionmaker(make_engine(db_url))
    rng = random.Random(4)
    start = 0
    versions_seen: list[int] = []
    for _ in range(KILLS):
        child = multiprocessing.get_context("fork").Process(
            target=writer_child.run,
            args=(db_url, str(lake), dataset_id, str(ack), str(start)),
        )
        child.start()
        acked_before = len(ack.read_text().split())
        deadline = time.monotonic() + 60
        while len(ack.read_text().split()) == acked_before and time.monotonic() < deadline:
            time.sleep(0.01)  # wait for the child to be writing, then kill it at a random moment
        time.sleep(rng.uniform(0.0, 0.3))
        assert child.pid is not None
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        assert child.exitcode == -signal.SIGKILL
        start += 1000
        acked = {int(x) for x in ack.read_text().split()}
        with factory() as session:
            head = service.head_files(
                session=session, settings=settings, dataset_id=uuid.UUID(dataset_id)
            )
            assert head is not None
            assert all(p.exists() for p in head.paths)
            files = ", ".join(f"'{p}'" for p in head.paths)
            rows = duckdb.sql(f"SELECT batch, count(*) FROM read_parquet([{files}]) GROUP BY 1")
            batches = dict(rows.fetchall())
            assert sum(batches.values()) == head.row_count
            assert all(n == 50 for n in batches.values())  # no half batch
            assert acked <= set(batches)  # no acknowledged append lost
            versions_seen.append(head.number)
            # the version list holds exactly the committed versions, numbered without gaps
            numbers = [
                v.number for v in service.versions(session=session, dataset_id=head.dataset_id)
            ]
            assert numbers == list(range(head.number, 0, -1))
            assert session.get(DatasetVersion, head.version_id) is not None
    assert versions_seen == sorted(versions_seen) and versions_seen[-1] >= KILLS
    with factory() as session:
        report = gc.collect(session=session, storage=service.storage(settings), grace_seconds=0)
        head = service.head_files(
            session=session, settings=settings, dataset_id=uuid.UUID(dataset_id)
        )
        assert head is not None and all(p.exists() for p in head.paths)
        live = {str(p) for p in head.paths}
        on_disk = {str(p) for p in (lake / "datasets").rglob("*.parquet")}
        # after collection only files some version lists remain
        from sqlalchemy import select

        from datatorg.lake.models import VersionFile

        listed = {
            str(service.storage(settings).local_path(k))
            for k in session.scalars(select(VersionFile.key))
        }
        assert live <= on_disk <= listed
        assert report.files_removed >= 0
