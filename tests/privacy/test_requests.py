"""Data subject requests: the state machine, identity check, due dates and extension,
the steward queue, effects (restriction, objection, erasure) and the trail."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.audit import service as audit
from datatorg.errors import Conflict, Forbidden, Invalid, NotFound
from datatorg.identity.models import Role
from datatorg.market.models import Notification
from datatorg.privacy import effects, filters, requests
from datatorg.privacy import service as privacy
from datatorg.privacy.models import IdentityKind, RequestState, RequestType
from datatorg.settings import Settings
from tests.factories import actor_of, make_org
from tests.privacy.helpers import citizen, personal_dataset


def test_due_dates_are_calendar_months() -> None:
    assert requests.add_months(datetime(2026, 1, 31, tzinfo=UTC), 1) == datetime(
        2026, 2, 28, tzinfo=UTC
    )
    assert requests.add_months(datetime(2026, 11, 30, tzinfo=UTC), 3) == datetime(
        2027, 2, 28, tzinfo=UTC
    )
    assert requests.add_months(datetime(2024, 1, 31, tzinfo=UTC), 1) == datetime(
        2024, 2, 29, tzinfo=UTC
    )


@given(st.lists(st.sampled_from(list(requests.TRANSITIONS)), max_size=8))
@hsettings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_state_machine_only_takes_its_edges(actions: list[str]) -> None:
    state = RequestState.received
    for action in actions:
        sources, target = requests.TRANSITIONS[action]
        if state in sources:
            state = requests.next_state(state, action)
            assert state == target
        else:
            with pytest.raises(Conflict):
                requests.next_state(state, action)
    assert state in RequestState


def _people(session: Session, settings: Settings):  # type: ignore[no-untyped-def]
    org = make_org(session)
    steward = citizen(session)
    from datatorg.identity import service as identity

    identity.add_membership(session=session, user=steward, organisation=org, role=Role.steward)
    personal_dataset(session, org)  # the steward's organisation holds data about people
    person = citizen(session)
    subject = privacy.subject_for_user(session=session, settings=settings, user=person)
    return org, actor_of(session, steward), actor_of(session, person), subject


def test_a_steward_of_an_organisation_without_personal_data_never_sees_a_request(
    session: Session, settings: Settings
) -> None:
    """Any organisation's admin can name a steward; a sensor vendor's steward must not read
    citizens' requests (their messages), nor verify, complete or reject them."""
    from datatorg.identity import service as identity

    _org, steward, person, subject = _people(session, settings)
    vendor = make_org(session)
    outsider = citizen(session)
    identity.add_membership(session=session, user=outsider, organisation=vendor, role=Role.steward)
    other = actor_of(session, outsider)
    req = requests.create(
        session=session,
        settings=settings,
        actor=person,
        subject=subject,
        type=RequestType.erasure,
        details={"message": "Slett alt om meg"},
    )
    assert requests.queue(session=session, actor=other) == ([], 0)
    assert req.id in {r.id for r in requests.queue(session=session, actor=steward)[0]}
    with pytest.raises(NotFound):
        requests.get_for_steward(session=session, actor=other, request_id=req.id)
    for action in ("verify", "reject"):
        with pytest.raises(Forbidden):
            requests.act(
                session=session,
                settings=settings,
                actor=other,
                req=req,
                action=action,
                reason="x",
                method="x",
            )
    assert req.state == RequestState.received


def test_a_request_walks_from_receipt_to_completion(session: Session, settings: Settings) -> None:
    org, steward, person, subject = _people(session, settings)
    ds = personal_dataset(session, org, legal_basis="PublicInterest")
    t0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    req = requests.create(
        session=session,
        settings=settings,
        actor=person,
        subject=subject,
        type=RequestType.restriction,
        details={},
        now=t0,
    )
    assert req.state == RequestState.received and req.due_at == datetime(
        2026, 4, 10, 9, 0, tzinfo=UTC
    )
    # stewards are told, without the person's name
    note = session.scalar(select(Notification).where(Notification.user_id == steward.user_id))
    assert note is not None and "Innbygger" not in note.body
    with pytest.raises(Conflict):
        requests.create(
            session=session,
            settings=settings,
            actor=person,
            subject=subject,
            type=RequestType.restriction,
            details={},
            now=t0,
        )
    with pytest.raises(Forbidden):
        requests.act(
            session=session, settings=settings, actor=person, req=req, action="verify", method="x"
        )
    with pytest.raises(Invalid):
        requests.act(session=session, settings=settings, actor=steward, req=req, action="verify")
    with pytest.raises(Conflict):
        requests.act(session=session, settings=settings, actor=steward, req=req, action="complete")
    requests.act(
        session=session,
        settings=settings,
        actor=steward,
        req=req,
        action="verify",
        method="ID card at the desk",
        now=t0 + timedelta(days=1),
    )
    with pytest.raises(Invalid):
        requests.act(
            session=session,
            settings=settings,
            actor=steward,
            req=req,
            action="extend",
            now=t0 + timedelta(days=2),
        )
    requests.act(
        session=session,
        settings=settings,
        actor=steward,
        req=req,
        action="extend",
        reason="Many datasets to go through",
        now=t0 + timedelta(days=20),
    )
    assert (
        req.due_at == datetime(2026, 6, 10, 9, 0, tzinfo=UTC) and req.state == RequestState.extended
    )
    queue, total = requests.queue(session=session, actor=steward)
    assert req in queue and total >= 1
    with pytest.raises(Forbidden):
        requests.queue(session=session, actor=person)
    assert filters.subject_filter(
        session=session, dataset_id=ds.id, publisher_id=org.id, purpose=None, owner=True
    ) == (None, frozenset())
    requests.act(
        session=session,
        settings=settings,
        actor=steward,
        req=req,
        action="complete",
        effects=effects.effects(session=session, settings=settings),
        now=t0 + timedelta(days=40),
    )
    assert req.state == RequestState.completed
    assert filters.subject_filter(
        session=session, dataset_id=ds.id, publisher_id=org.id, purpose=None, owner=True
    ) == (None, frozenset({subject.subject_key}))
    assert [h["event"] for h in req.history] == ["create", "verify", "extend", "complete"]
    assert all("Innbygger" not in str(h) for h in req.history)
    assert audit.count(session=session, target_id=str(req.id)) == 4
    effects.lift_restriction(session=session, actor=steward, req=req)
    assert filters.subject_filter(
        session=session, dataset_id=ds.id, publisher_id=org.id, purpose=None, owner=True
    ) == (None, frozenset())
    assert requests.overdue(req, t0 + timedelta(days=200)) is False  # completed


def test_extension_only_in_the_first_month_and_withdrawal_by_the_person(
    session: Session, settings: Settings
) -> None:
    _org, steward, person, subject = _people(session, settings)
    t0 = datetime(2026, 3, 10, tzinfo=UTC)
    req = requests.create(
        session=session,
        settings=settings,
        actor=person,
        subject=subject,
        type=RequestType.access,
        details={},
        now=t0,
    )
    requests.act(
        session=session,
        settings=settings,
        actor=steward,
        req=req,
        action="verify",
        method="BankID",
        now=t0,
    )
    with pytest.raises(Conflict):
        requests.act(
            session=session,
            settings=settings,
            actor=steward,
            req=req,
            action="extend",
            reason="late",
            now=t0 + timedelta(days=31),
        )
    assert requests.overdue(req, t0 + timedelta(days=32))
    with pytest.raises(Forbidden):
        requests.act(session=session, settings=settings, actor=steward, req=req, action="withdraw")
    requests.act(session=session, settings=settings, actor=person, req=req, action="withdraw")
    assert req.state == RequestState.withdrawn


def test_a_trusted_eid_verifies_at_once(session: Session, settings: Settings) -> None:
    _org, _steward, person, subject = _people(session, settings)
    from datatorg.identity.models import User

    user = session.get(User, person.user_id)
    assert user is not None
    privacy.link_verified_identity(
        session=session,
        settings=settings,
        user=user,
        kind=IdentityKind.national_id,
        value="15076500565",
    )
    req = requests.create(
        session=session,
        settings=settings,
        actor=person,
        subject=subject,
        type=RequestType.erasure,
        details={},
    )
    assert req.state == RequestState.verified and req.identity_method == requests.TRUSTED_EID


def test_an_objection_removes_the_subject_from_one_dataset(
    session: Session, settings: Settings
) -> None:
    org, steward, person, subject = _people(session, settings)
    ds = personal_dataset(session, org, legal_basis="PublicInterest")
    other = personal_dataset(session, org, legal_basis="PublicInterest")
    req = requests.create(
        session=session,
        settings=settings,
        actor=person,
        subject=subject,
        type=RequestType.objection,
        details={"dataset": str(ds.id)},
    )
    requests.act(
        session=session, settings=settings, actor=steward, req=req, action="verify", method="BankID"
    )
    requests.act(
        session=session,
        settings=settings,
        actor=steward,
        req=req,
        action="complete",
        effects=effects.effects(session=session, settings=settings),
    )
    assert filters.subject_filter(
        session=session,
        dataset_id=ds.id,
        publisher_id=org.id,
        purpose="ScientificResearch",
        owner=False,
    )[1] == {subject.subject_key}
    assert (
        filters.subject_filter(
            session=session,
            dataset_id=other.id,
            publisher_id=org.id,
            purpose="ScientificResearch",
            owner=False,
        )[1]
        == frozenset()
    )
    assert requests.get_own(session=session, actor=person, request_id=req.id) is req
    from datatorg.errors import NotFound

    with pytest.raises(NotFound):
        requests.get_own(session=session, actor=steward, request_id=req.id)
    with pytest.raises(NotFound):
        requests.get_own(session=session, actor=person, request_id=uuid.uuid4())
