"""No cache lets a withdrawn consent through, across processes: this process reads a
consent-based dataset under an agreement (warming privacy's subject-filter cache), another
process withdraws one consent and gives another and commits, and this process's very next
read reflects both — on a database of its own (committed transactions, as in production)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from datatorg.access import service as access
from datatorg.db import migrate
from datatorg.db.base import utcnow
from datatorg.db.engine import make_engine, make_sessionmaker
from datatorg.identity import service as identity
from datatorg.identity.models import OrgKind, Role
from datatorg.market.models import Agreement, PriceModel
from datatorg.privacy import filters
from datatorg.privacy import service as privacy
from datatorg.privacy.models import IdentityKind, ScopeKind
from datatorg.settings import Settings
from tests.factories import actor_of, make_org
from tests.pg import PostgresServer
from tests.privacy.helpers import personal_dataset, upload_csv

ROOT = Path(__file__).parent.parent.parent


@pytest.fixture
def own_db(
    pg_server: PostgresServer | None, settings: Settings, tmp_path: Path
) -> Iterator[tuple[Settings, sessionmaker[Session]]]:
    if pg_server is not None:
        url = pg_server.create_database(f"consent_{uuid.uuid4().hex[:10]}")
    else:
        url = f"sqlite:///{tmp_path / 'consent.sqlite3'}"
    make_engine(url).dispose()
    migrate.upgrade(url)
    own = settings.model_copy(update={"database_url": url, "lake_path": tmp_path / "lake"})
    engine = make_engine(url)
    try:
        yield own, make_sessionmaker(engine)
    finally:
        engine.dispose()


OTHER_PROCESS = """
import sys, uuid
from datatorg.db.engine import make_engine, make_sessionmaker
from datatorg.privacy import service as privacy
from datatorg.privacy.models import ScopeKind, Subject

url, withdraw_subject, consent_id, give_subject, dataset_id = sys.argv[1:6]
with make_sessionmaker(make_engine(url))() as session:
    gone = session.get(Subject, uuid.UUID(withdraw_subject))
    privacy.withdraw(session=session, subject=gone, consent_id=uuid.UUID(consent_id))
    new = session.get(Subject, uuid.UUID(give_subject))
    privacy.give(session=session, subject=new, purpose="ScientificResearch",
                 scope_kind=ScopeKind.dataset, scope_ref=dataset_id)
    session.commit()
"""


def test_a_consent_withdrawn_in_another_process_is_gone_from_the_next_read(
    own_db: tuple[Settings, sessionmaker[Session]],
) -> None:
    settings, sessions = own_db
    with sessions() as session:
        org = make_org(session)
        ds = personal_dataset(session, org)
        lines = ["meter_id,tag"] + [f"M-{i},hh{i}" for i in range(4)]
        upload_csv(session, settings, ds, "\n".join(lines) + "\n")
        subjects = [
            privacy.find_by_identity(
                session=session, settings=settings, kind=IdentityKind.meter_number, value=f"M-{i}"
            )
            for i in range(4)
        ]
        consents = [
            privacy.give(
                session=session,
                subject=s,
                purpose="ScientificResearch",
                scope_kind=ScopeKind.dataset,
                scope_ref=str(ds.id),
            )
            for s in subjects[:3]
            if s is not None
        ]
        school = make_org(session, kind=OrgKind.education)
        reader = identity.create_user(
            session=session, email="forsker@example.no", display_name="Forsker", password=None
        )
        identity.add_membership(
            session=session, user=reader, organisation=school, role=Role.consumer
        )
        now = utcnow()
        session.add(
            Agreement(
                dataset_id=ds.id,
                assigner_org_id=org.id,
                assignee_org_id=school.id,
                assignee_user_id=reader.id,
                purpose="ScientificResearch",
                legal_basis="Consent",
                columns=None,
                aggregate_only=False,
                price_model=PriceModel.free,
                price_nok=0,
                licence="",
                attribution_required=True,
                redistribution_prohibited=True,
                valid_from=now - timedelta(days=1),
                valid_until=now + timedelta(days=30),
                agreed_at=now,
                content_hash=uuid.uuid4().hex,
            )
        )
        session.commit()
        ids = [str(s.id) for s in subjects if s is not None]
        withdrawn_consent, dataset_id, slug = str(consents[1].id), str(ds.id), ds.slug

    def tags() -> list[str]:
        with sessions() as session:
            actor = actor_of(
                session, identity.get_user_by_email(session=session, email="forsker@example.no")
            )  # type: ignore[arg-type]
            page = access.read_dataset(
                session=session,
                settings=settings,
                actor=actor,
                ref=slug,
                items=[("_col", "tag"), ("_sort", "tag")],
                channel="api",
            )
            session.commit()
            return [row[0] for row in page.rows]

    assert tags() == ["hh0", "hh1", "hh2"]
    assert tags() == ["hh0", "hh1", "hh2"]  # served from this process's filter cache
    assert any(k[0] == uuid.UUID(dataset_id) for k in filters._cache)

    done = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(OTHER_PROCESS),
            settings.database_url,
            ids[1],
            withdrawn_consent,
            ids[3],
            dataset_id,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "PATH": "/usr/bin:/bin",
            "DATATORG_SECRET_KEY": settings.secret_key.get_secret_value(),
        },
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert tags() == ["hh0", "hh2", "hh3"]  # the very next read
