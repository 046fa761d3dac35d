"""Two publishers upload to one dataset at the same time: each upload request looks the
dataset up, lets its file arrive without a transaction, then publishes under the write lock.
The second must not act on the column list it read before the first one's publish (it
answered 500, a UNIQUE violation on the catalog's columns, for 3 of 4 simultaneous uploads).
SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from datatorg.catalog.models import Dataset, DatasetStatus
from datatorg.db import migrate
from datatorg.db.engine import make_engine
from datatorg.db.writes import write_sessionmaker
from datatorg.identity import service as identity
from datatorg.lake import service
from datatorg.lake.models import DatasetVersion, WriteMode
from datatorg.settings import Settings
from tests.pg import PostgresServer


def test_a_publish_after_another_sees_the_columns_that_one_made(
    pg_server: PostgresServer | None, tmp_path: Path, settings: Settings
) -> None:
    if pg_server is not None:
        url = pg_server.create_database(f"pub_{tmp_path.name[-12:].replace('-', '_').lower()}")
    else:
        url = f"sqlite:///{tmp_path / 'pub.sqlite3'}"
    make_engine(url).dispose()
    migrate.upgrade(url)
    engine = make_engine(url)
    factory = write_sessionmaker(engine)
    lake = settings.model_copy(update={"database_url": url, "lake_path": tmp_path / "lake"})
    try:
        with factory() as s:
            org = identity.create_organisation(session=s, slug="two-pubs", name="To")
            ds = Dataset(slug="two", title_nb="To", publisher_id=org.id)
            ds.status = DatasetStatus.published
            s.add(ds)
            s.commit()
            ds_id = ds.id

        def file(name: str, text: str) -> Path:
            folder = service.new_staging(lake)
            path = folder / name
            path.write_text(text)
            return path

        late = factory()
        stale = late.get(Dataset, ds_id)  # the second request's look-up, before the first
        assert stale is not None and list(stale.fields) == []
        late.commit()  # its file arrives with no transaction open
        with factory() as first:
            service.ingest_file(
                session=first,
                settings=lake,
                dataset=first.get(Dataset, ds_id),  # type: ignore[arg-type]
                source=file("a.csv", "a,b\n1,2\n"),
                filename="a.csv",
                mode=WriteMode.replace,
                uploaded_by=None,
            )
            first.commit()
        service.ingest_file(
            session=late,
            settings=lake,
            dataset=stale,
            source=file("b.csv", "a,b,c\n3,4,5\n"),
            filename="b.csv",
            mode=WriteMode.replace,
            uploaded_by=None,
        )
        late.commit()
        late.close()
        with factory() as s:
            versions = s.scalar(
                select(func.count())
                .select_from(DatasetVersion)
                .where(DatasetVersion.dataset_id == ds_id)
            )
            fresh = s.get(Dataset, ds_id)
            assert fresh is not None
            assert versions == 2
            assert [f.name for f in fresh.fields] == ["a", "b", "c"]
    finally:
        engine.dispose()
