"""Privacy's messages (a new request to stewards, a request's outcome to the person, an
erasure to recipients) leave through the outbox: queued in the transaction that causes them,
delivered by e-mail after it commits, never when it rolls back, and never naming the person."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.identity import service as identity
from datatorg.identity.models import Role
from datatorg.outbox import service as outbox
from datatorg.outbox.models import OutboxMessage
from datatorg.privacy import requests
from datatorg.privacy import service as privacy
from datatorg.privacy.models import RequestType
from datatorg.settings import Settings
from tests.factories import actor_of, make_org
from tests.mailserver import Inbox
from tests.privacy.helpers import citizen, personal_dataset


def test_request_notices_leave_after_commit_only(
    session: Session, smtp: tuple[Inbox, Settings]
) -> None:
    inbox, live = smtp
    org = make_org(session)
    personal_dataset(session, org, legal_basis="PublicInterest")
    steward = citizen(session, email="forvalter@example.no")
    identity.add_membership(session=session, user=steward, organisation=org, role=Role.steward)
    person = citizen(session, email="kari.nordmann@example.no")
    subject = privacy.subject_for_user(session=session, settings=live, user=person)

    attempt = session.begin_nested()
    requests.create(
        session=session,
        settings=live,
        actor=actor_of(session, person),
        subject=subject,
        type=RequestType.restriction,
        details={},
    )
    queued = session.scalars(select(OutboxMessage)).all()
    assert [m.kind for m in queued] == ["privacy_request"]
    assert [m.recipient for m in queued] == ["forvalter@example.no"]
    attempt.rollback()  # the request failed later: nobody hears of it
    assert outbox.deliver_due(session=session, settings=live) == outbox.Delivery()
    assert inbox.messages == []

    requests.create(
        session=session,
        settings=live,
        actor=actor_of(session, person),
        subject=subject,
        type=RequestType.restriction,
        details={},
    )
    assert outbox.deliver_due(session=session, settings=live).delivered == 1
    (mail,) = inbox.messages
    assert mail["To"] == "forvalter@example.no"
    text = mail.get_content()
    assert "/privacy/requests/" in text
    for needle in ("Kari", "kari.nordmann", subject.subject_key):
        assert needle not in text and needle not in str(mail["Subject"])
