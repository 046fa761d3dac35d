"""A double click on "give" gives consent once: one record, one event, no error.

On PostgreSQL two simultaneous gives of the same purpose and scope each looked for the
record, found none, and each inserted one: the unique key let one through and the others
failed with a 500 ("something went wrong" for a citizen who did give consent). SQLite and
PostgreSQL; on SQLite the writer turn already serialises the gives.
"""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import func, select

from datatorg.db import migrate
from datatorg.db.engine import make_engine
from datatorg.db.writes import write_sessionmaker
from datatorg.privacy import service as privacy
from datatorg.privacy.models import Consent, ConsentEvent, Notice, ScopeKind, Subject
from datatorg.settings import Settings
from tests.conftest import TEST_SECRET
from tests.factories import make_org
from tests.pg import PostgresServer
from tests.privacy.helpers import personal_dataset

THREADS = 10


def _fresh_url(pg_server: PostgresServer | None, tmp_path: Path) -> str:
    if pg_server is not None:
        return pg_server.create_database(f"cc_{tmp_path.name[-12:].replace('-', '_').lower()}")
    return f"sqlite:///{tmp_path / 'cc.sqlite3'}"


def test_simultaneous_gives_make_one_record_and_one_withdrawal_ends_it(
    pg_server: PostgresServer | None, tmp_path: Path
) -> None:
    url = _fresh_url(pg_server, tmp_path)
    make_engine(url).dispose()
    migrate.upgrade(url)
    settings = Settings(
        env="test",
        database_url=url,
        lake_path=tmp_path / "lake",
        secret_key=TEST_SECRET,  # type: ignore[arg-type]
        mail_enabled=False,
    )
    engine = make_engine(url)
    factory = write_sessionmaker(engine)  # as the app's unsafe requests
    try:
        with factory() as session:
            org = make_org(session)
            ds = personal_dataset(session, org)
            subject = privacy.new_subject(session, settings)
            privacy.notices(session=session)  # the notices exist (seeded on first use)
            session.commit()
            ds_id, org_id, subject_id = ds.id, org.id, subject.id
        outcomes: list[str] = []
        start = threading.Barrier(THREADS)

        def give() -> None:
            try:
                start.wait()
                with factory() as s:
                    found = s.get(Subject, subject_id)
                    assert found is not None
                    privacy.give(
                        session=s,
                        subject=found,
                        purpose="ScientificResearch",
                        scope_kind=ScopeKind.dataset,
                        scope_ref=str(ds_id),
                    )
                    s.commit()
                outcomes.append("given")
            except BaseException as exc:  # reported below
                outcomes.append(repr(exc))

        threads = [threading.Thread(target=give) for _ in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert outcomes == ["given"] * THREADS, outcomes
        with factory() as session:
            records = list(session.scalars(select(Consent)))
            assert len(records) == 1, [(c.id, c.state) for c in records]
            assert session.scalar(select(func.count()).select_from(ConsentEvent)) == 1
            subject = session.get(Subject, subject_id)
            assert subject is not None
            privacy.withdraw(session=session, subject=subject, consent_id=records[0].id)
            session.commit()
        with factory() as session:
            keys = privacy.valid_subject_keys(
                session=session, dataset_id=ds_id, publisher_id=org_id, purpose="ScientificResearch"
            )
            assert keys == set()  # one withdrawal, and nobody gets the rows any more
    finally:
        engine.dispose()


def test_a_fresh_installation_seeds_its_notices_once_under_simultaneous_first_use(
    pg_server: PostgresServer | None, tmp_path: Path
) -> None:
    """The bundled notices are seeded on first use: ten requests meeting an empty table at
    once (a fresh PostgreSQL installation's first consents) each find the notice, none
    fails on the unique key, and each purpose has one version 1."""
    url = _fresh_url(pg_server, tmp_path)
    make_engine(url).dispose()
    migrate.upgrade(url)
    engine = make_engine(url)
    factory = write_sessionmaker(engine)
    outcomes: list[str] = []
    start = threading.Barrier(THREADS)

    def first_use() -> None:
        try:
            start.wait()
            with factory() as s:
                notice = privacy.current_notice(session=s, purpose="ScientificResearch")
                assert notice.version == 1
                s.commit()
            outcomes.append("ok")
        except BaseException as exc:  # reported by the assertion below
            outcomes.append(repr(exc)[:200])

    try:
        threads = [threading.Thread(target=first_use) for _ in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert outcomes == ["ok"] * THREADS, outcomes
        with factory() as s:
            per_purpose = s.execute(
                select(Notice.purpose, func.count()).group_by(Notice.purpose)
            ).all()
            assert per_purpose and all(n == 1 for _, n in per_purpose), per_purpose
    finally:
        engine.dispose()
