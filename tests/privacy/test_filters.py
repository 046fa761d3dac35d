"""The subject filter the gate gets: consent, restriction and objection, live — a cached
set is reused only under the same state version and before its earliest expiry."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from datatorg.db.base import utcnow
from datatorg.privacy import filters
from datatorg.privacy import service as privacy
from datatorg.privacy.models import ScopeKind
from datatorg.settings import Settings
from tests.factories import make_org
from tests.privacy.helpers import personal_dataset


def test_the_filter_follows_every_change_at_once(session: Session, settings: Settings) -> None:
    org = make_org(session)
    ds = personal_dataset(session, org)
    a, b = privacy.new_subject(session, settings), privacy.new_subject(session, settings)
    t0 = utcnow()

    def read(now=t0, purpose="ScientificResearch", owner=False):  # type: ignore[no-untyped-def]
        return filters.subject_filter(
            session=session,
            dataset_id=ds.id,
            publisher_id=org.id,
            purpose=purpose,
            owner=owner,
            now=now,
        )

    assert read() == (frozenset(), frozenset())
    ca = privacy.give(
        session=session,
        subject=a,
        purpose="ScientificResearch",
        scope_kind=ScopeKind.dataset,
        scope_ref=str(ds.id),
        now=t0,
    )
    cb = privacy.give(
        session=session,
        subject=b,
        purpose="ScientificResearch",
        scope_kind=ScopeKind.provider,
        scope_ref=str(org.id),
        expires_at=t0 + timedelta(hours=1),
        now=t0,
    )
    assert read() == ({a.subject_key, b.subject_key}, frozenset())
    assert read() == ({a.subject_key, b.subject_key}, frozenset())  # from the cache
    assert read(now=t0 + timedelta(hours=1)) == ({a.subject_key}, frozenset())  # expired
    privacy.withdraw(session=session, subject=a, consent_id=ca.id, now=t0 + timedelta(minutes=1))
    assert read() == ({b.subject_key}, frozenset())
    b.restricted_at = t0
    assert read() == (frozenset(), {b.subject_key})
    assert read(owner=True) == (None, {b.subject_key})  # owners too lose restricted rows
    assert read(purpose=None) == (frozenset(), {b.subject_key})
    del cb
