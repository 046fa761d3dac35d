"""Erasure is complete (every file under the lake, every control-plane table), leaves the
other subjects' rows unchanged, tells recipients without naming the person, and is
idempotent."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pyarrow.parquet as pq
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.db.base import utcnow
from datatorg.lake import service as lake
from datatorg.lake.models import WriteMode
from datatorg.market.models import Agreement, Notification, PriceModel
from datatorg.outbox.models import OutboxMessage
from datatorg.privacy import erasure, ledger
from datatorg.privacy import service as privacy
from datatorg.privacy.models import IdentityKind, ScopeKind, SubjectIdentity, Tombstone
from datatorg.settings import Settings
from tests.factories import make_org
from tests.privacy.helpers import citizen, personal_dataset, upload_csv
from tests.privacy.scan import lake_hits, table_hits


def _rows(session: Session, settings: Settings, dataset_id: uuid.UUID) -> list[tuple[object, ...]]:
    head = lake.head_files(session=session, settings=settings, dataset_id=dataset_id)
    assert head is not None
    out: list[tuple[object, ...]] = []
    for p in head.paths:
        t = pq.read_table(p)
        out += list(zip(*[t.column(c).to_pylist() for c in t.column_names], strict=True))
    return sorted(out, key=repr)


def _agreement(session: Session, dataset_id: uuid.UUID, provider_id: uuid.UUID) -> Agreement:
    consumer_org = make_org(session)
    user = citizen(session)
    now = utcnow()
    a = Agreement(
        dataset_id=dataset_id,
        assigner_org_id=provider_id,
        assignee_org_id=consumer_org.id,
        assignee_user_id=user.id,
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
    session.add(a)
    session.flush()
    return a


@given(
    meters=st.lists(st.integers(min_value=1, max_value=40), min_size=2, max_size=8, unique=True),
    victim=st.integers(min_value=0, max_value=7),
    appends=st.integers(min_value=0, max_value=2),
)
@hsettings(
    max_examples=6,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
def test_erasure_leaves_no_trace_and_is_idempotent(
    session: Session, settings: Settings, meters: list[int], victim: int, appends: int
) -> None:
    if True:
        org = make_org(session)
        ds = personal_dataset(session, org)
        other = personal_dataset(session, org, column="kunde", kind=IdentityKind.customer_number)
        ids = [f"M-{n:05d}-{uuid.uuid4().hex[:6]}" for n in meters]
        gone = ids[victim % len(ids)]

        def csv_of(chunk: list[str], hour: int) -> str:
            return "meter_id,reading_time,kwh\n" + "".join(
                f"{m},2025-01-01T{hour:02d}:00:00,{i + hour}.5\n" for i, m in enumerate(chunk)
            )

        upload_csv(session, settings, ds, csv_of(ids, 0))
        for h in range(appends):
            upload_csv(session, settings, ds, csv_of(ids[: 1 + h], h + 1), mode=WriteMode.append)
        subject = privacy.find_by_identity(
            session=session, settings=settings, kind=IdentityKind.meter_number, value=gone
        )
        assert subject is not None
        # the same person is a customer in the other dataset
        privacy.add_identity(
            session=session,
            settings=settings,
            subject=subject,
            kind=IdentityKind.customer_number,
            value=f"K-{victim}-{uuid.uuid4().hex[:6]}",
        )
        cust = privacy.identities(session=session, settings=settings, subject=subject)
        customer = next(v for k, v in cust if k == "customer_number")
        upload_csv(
            session,
            settings,
            other,
            f"kunde,belop\n{customer},10\nK-OTHER-{uuid.uuid4().hex[:6]},20\n",
        )
        privacy.give(
            session=session,
            subject=subject,
            purpose="ScientificResearch",
            scope_kind=ScopeKind.dataset,
            scope_ref=str(ds.id),
        )
        agreement = _agreement(session, ds.id, org.id)
        ledger.record(
            session=session,
            entries=[
                ledger.Entry(
                    agreement.id,
                    ds.id,
                    1,
                    "api",
                    3,
                    frozenset({subject.subject_key, "sk-someoneelse"}),
                )
            ],
            at=utcnow(),
        )
        # a row index that holds the subject's rows
        head = lake.head_files(session=session, settings=settings, dataset_id=ds.id)
        assert head is not None
        lake.build_row_index(settings=settings, head=head)
        key, sid = subject.subject_key, subject.id
        lookups = list(
            session.scalars(select(SubjectIdentity.lookup).where(SubjectIdentity.subject_id == sid))
        )
        sealed = list(
            session.scalars(select(SubjectIdentity.sealed).where(SubjectIdentity.subject_id == sid))
        )
        before_other = [r for r in _rows(session, settings, ds.id) if r[0] != key]
        before_second = [r for r in _rows(session, settings, other.id) if r[0] != key]

        report = erasure.erase_subject(
            session=session, settings=settings, subject_id=sid, subject_key=key
        )
        assert (
            report["rows_removed"] == 1 + sum(1 for h in range(appends) if gone in ids[: 1 + h]) + 1
        )
        assert report["recipients_notified"] == 1
        note = session.scalar(
            select(Notification).where(Notification.user_id == agreement.assignee_user_id)
        )
        assert note is not None and gone not in note.body and key not in note.body
        assert str(agreement.id) in note.body
        mails = session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.kind == "privacy_erasure",
                OutboxMessage.body.contains(str(agreement.id)),
            )
        ).all()  # e-mailed after commit, through the outbox
        assert len(mails) == 1 and gone not in mails[0].body and key not in mails[0].body

        needles = [key, str(sid), gone, customer, *lookups, *sealed, ledger.fingerprint(key).hex()]
        assert lake_hits(settings.lake_path, needles) == []
        assert table_hits(session, needles) == []
        assert session.get(Tombstone, privacy.keys_of(settings).tombstone(key)) is not None
        assert [r for r in _rows(session, settings, ds.id)] == before_other
        assert [r for r in _rows(session, settings, other.id)] == before_second
        # the other subject is still in the ledger
        assert ledger.for_subject(session=session, subject_key="sk-someoneelse")

        head_before = lake.head(session=session, dataset_id=ds.id)
        again = erasure.erase_subject(
            session=session, settings=settings, subject_id=sid, subject_key=key
        )
        assert again["rows_removed"] == 0 and again["recipients_notified"] == 0
        assert lake.head(session=session, dataset_id=ds.id) == head_before
        assert _rows(session, settings, ds.id) == before_other
        # the erased meter cannot come back through an upload
        import pytest

        from datatorg.errors import Conflict

        with pytest.raises(Conflict):
            upload_csv(session, settings, ds, csv_of([gone], 5), mode=WriteMode.append)
