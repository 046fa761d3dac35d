"""How much the marketplace adds to a read: ``check_agreement`` and ``record_usage``.

Baseline: one primary-key lookup of the agreement (the least any check must do), on the same
SQLite file in the same run. Figures are ratios against it.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from datatorg.catalog.models import AccessRights, Classification, Dataset, DatasetStatus
from datatorg.db import migrate
from datatorg.db.engine import make_engine, make_sessionmaker
from datatorg.identity import service as identity
from datatorg.identity.models import OrgKind, Role
from datatorg.market import service
from datatorg.market.models import Agreement
from datatorg.market.schemas import AccessRequestCreate, OfferCreate

ROUNDS = 2000


def _timed(fn: Callable[[], object], rounds: int = ROUNDS) -> float:
    fn()
    started = time.perf_counter()
    for _ in range(rounds):
        fn()
    return (time.perf_counter() - started) / rounds


def _world(session: Session) -> tuple[object, Agreement]:
    city = identity.create_organisation(
        session=session, slug="city", name="City", kind=OrgKind.public_sector
    )
    uni = identity.create_organisation(
        session=session, slug="uni", name="Uni", kind=OrgKind.education
    )
    pub = identity.create_user(session=session, email="p@x.no", display_name="P", password=None)
    con = identity.create_user(session=session, email="c@x.no", display_name="C", password=None)
    identity.add_membership(session=session, user=pub, organisation=city, role=Role.publisher)
    identity.add_membership(session=session, user=con, organisation=uni, role=Role.consumer)
    ds = Dataset(
        slug="ds",
        title_nb="DS",
        publisher_id=city.id,
        access_rights=AccessRights.restricted,
        classification=Classification.restricted,
        status=DatasetStatus.published,
    )
    session.add(ds)
    session.flush()
    offer = service.create_offer(
        session=session,
        actor=identity.actor_for_user(session=session, user=pub),
        data=OfferCreate(
            dataset="ds",
            title="t",
            purposes=["AcademicResearch"],
            consumer_kinds=["education"],
            columns=["a", "b"],
            calls_per_day=10**7,
            rows_per_month=10**12,
        ),
    )
    consumer = identity.actor_for_user(session=session, user=con)
    req = service.create_request(
        session=session,
        settings=None,
        actor=consumer,
        data=(
            AccessRequestCreate(
                offer_id=offer.id,
                purpose="AcademicResearch",
                description="benchmark run",
                period_start=date.today(),
                period_end=date.today() + timedelta(days=30),
            )
        ),
    )
    agreement = service.approve(
        session=session,
        settings=None,
        actor=identity.actor_for_user(session=session, user=pub),
        request_id=req.id,
    )
    for _ in range(30):  # some reads already metered today
        service.record_usage(session=session, agreement_id=agreement.id, rows=100, nbytes=1000)
    session.commit()
    return consumer, agreement


def run() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        make_engine(url).dispose()
        migrate.upgrade(url)
        engine = make_engine(url)
        try:
            with make_sessionmaker(engine)() as session:
                consumer, agreement = _world(session)
                aid, ds = agreement.id, agreement.dataset_id

                def baseline() -> object:
                    session.expire_all()
                    return session.get(Agreement, aid)

                def check_by_id() -> object:
                    session.expire_all()
                    return service.check_agreement(
                        session=session,
                        actor=consumer,
                        dataset_id=ds,  # type: ignore[arg-type]
                        columns=frozenset({"a"}),
                        aggregate=False,
                        agreement_id=aid,
                    )

                def check_by_search() -> object:
                    session.expire_all()
                    return service.check_agreement(
                        session=session,
                        actor=consumer,
                        dataset_id=ds,  # type: ignore[arg-type]
                        columns=frozenset({"a"}),
                        aggregate=False,
                        agreement_id=None,
                    )

                def meter() -> None:
                    service.record_usage(session=session, agreement_id=aid, rows=10, nbytes=100)

                base = _timed(baseline)
                by_id = _timed(check_by_id)
                by_search = _timed(check_by_search)
                metered = _timed(meter)
                session.rollback()
        finally:
            engine.dispose()
    return "\n".join(
        [
            "## Marketplace enforcement (SQLite)",
            "",
            f"{ROUNDS} calls each, agreement with both quotas; baseline = one primary-key lookup.",
            "",
            "| operation | ratio to baseline |",
            "|---|---|",
            f"| `check_agreement` with the agreement id | {by_id / base:.1f}× |",
            f"| `check_agreement` finding the agreement | {by_search / base:.1f}× |",
            f"| `record_usage` (one upsert) | {metered / base:.1f}× |",
            "",
        ]
    )
