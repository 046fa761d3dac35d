"""The audit log is hash-linked: any change to a past event is found."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from datatorg.audit import service as audit
from datatorg.audit.models import AuditEvent
from datatorg.identity.actor import ANONYMOUS


def _three(session: Session) -> list[AuditEvent]:
    return [
        audit.record(
            session=session,
            actor=ANONYMOUS,
            action="data.read",
            target_type="dataset",
            target_id=f"ds-{i}",
            details={"rows": i},
        )
        for i in range(3)
    ]


def test_events_chain_and_verify(session: Session) -> None:
    events = _three(session)
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[1].prev_hash == events[0].hash and events[2].prev_hash == events[1].hash
    report = audit.verify_chain(session=session)
    assert report.ok and report.checked == 3


def test_tampering_is_detected(session: Session) -> None:
    _three(session)
    session.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(details={"rows": 999}))
    session.expire_all()
    report = audit.verify_chain(session=session)
    assert not report.ok and report.first_bad_seq == 2


def test_deleting_the_last_event_is_detected(session: Session) -> None:
    _three(session)
    last = session.scalar(select(AuditEvent).where(AuditEvent.seq == 3))
    session.delete(last)
    session.flush()
    assert audit.verify_chain(session=session).ok is False
