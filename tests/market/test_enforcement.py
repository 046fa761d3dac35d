"""check_agreement: every term has a case where it denies; record_usage meters; quotas reset."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete
from sqlalchemy.orm import Session

from datatorg.identity.actor import Actor
from datatorg.identity.models import OrgKind, Role
from datatorg.identity.service import actor_for_user, create_token
from datatorg.market import service
from datatorg.market.agreements import verify_hash
from datatorg.market.metering import today as utc_today
from datatorg.market.metering import totals
from datatorg.market.models import Agreement, UsageDay
from tests.factories import actor_of, make_org, make_user
from tests.market.conftest import World, make_dataset, offer_data, request_data

COLS = frozenset({"building", "kwh"})


def agree(session: Session, world: World, **kw: object) -> Agreement:
    consumer = actor_of(session, world.consumer)
    req = service.create_request(
        session=session, settings=None, actor=consumer, data=request_data(world.offer, **kw)
    )
    return service.approve(
        session=session, settings=None, actor=actor_of(session, world.steward), request_id=req.id
    )


def check(session: Session, actor: Actor, ds: uuid.UUID, **kw: object) -> service.AgreementCheck:
    args: dict[str, object] = {
        "columns": COLS,
        "aggregate": False,
        "agreement_id": None,
    }
    args.update(kw)
    return service.check_agreement(session=session, actor=actor, dataset_id=ds, **args)  # type: ignore[arg-type]


def noon(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, 12, tzinfo=UTC)


def test_an_agreement_admits_a_fitting_read(session: Session, world: World) -> None:
    a = agree(session, world)
    result = check(session, actor_of(session, world.consumer), world.dataset.id)
    assert result.allowed and result.agreement_id == a.id
    assert result.allowed_columns == frozenset({"building", "month", "kwh"})
    assert result.purpose == "AcademicResearch"
    assert result.calls_remaining == 100 and result.rows_remaining == 100_000
    assert verify_hash(a)


def test_no_agreement_denies(session: Session, world: World) -> None:
    result = check(session, actor_of(session, world.consumer), world.dataset.id)
    assert not result.allowed and result.failed_term == "agreement"
    anonymous = check(session, Actor(), world.dataset.id)
    assert anonymous.failed_term == "agreement"


def test_unknown_or_foreign_agreement_id_denies(session: Session, world: World) -> None:
    a = agree(session, world)
    actor = actor_of(session, world.consumer)
    assert check(session, actor, world.dataset.id, agreement_id=uuid.uuid4()).failed_term == (
        "agreement"
    )
    other = make_dataset(session, world.provider, slug="other-ds")
    assert check(session, actor, other.id, agreement_id=a.id).failed_term == "agreement"


def test_someone_else_denied_as_assignee(session: Session, world: World) -> None:
    a = agree(session, world)
    stranger = make_user(
        session, org=make_org(session, kind=OrgKind.business), roles=(Role.consumer,)
    )
    result = check(session, actor_of(session, stranger), world.dataset.id, agreement_id=a.id)
    assert result.failed_term == "assignee"
    # a consumer colleague in the same organisation is covered
    colleague = make_user(session, org=world.consumer_org, roles=(Role.consumer,))
    assert check(session, actor_of(session, colleague), world.dataset.id).allowed


def test_suspended_revoked_terminated_deny_as_state(session: Session, world: World) -> None:
    a = agree(session, world)
    steward, consumer = actor_of(session, world.steward), actor_of(session, world.consumer)
    service.suspend(session=session, settings=None, actor=steward, agreement_id=a.id, reason="x")
    assert check(session, consumer, world.dataset.id, agreement_id=a.id).failed_term == "state"
    service.revoke(session=session, settings=None, actor=steward, agreement_id=a.id, reason="y")
    result = check(session, consumer, world.dataset.id, agreement_id=a.id)
    assert result.failed_term == "state" and "revoked" in result.reason
    b = agree(session, world)
    service.terminate(
        session=session, settings=None, actor=consumer, agreement_id=b.id, reason="done"
    )
    assert check(session, consumer, world.dataset.id, agreement_id=b.id).failed_term == "state"


def test_before_start_and_after_expiry_deny_as_period(session: Session, world: World) -> None:
    start = utc_today() + timedelta(days=10)
    a = agree(session, world, period_start=start, period_end=start + timedelta(days=5))
    consumer = actor_of(session, world.consumer)
    early = check(session, consumer, world.dataset.id, agreement_id=a.id)
    assert early.failed_term == "period" and "not started" in early.reason
    inside = check(
        session, consumer, world.dataset.id, agreement_id=a.id, now=noon(start + timedelta(days=5))
    )
    assert inside.allowed  # the end date is the last whole day
    late = check(
        session, consumer, world.dataset.id, agreement_id=a.id, now=noon(start + timedelta(days=6))
    )
    assert late.failed_term == "period" and "expired" in late.reason
    assert service.effective_state(a, noon(start + timedelta(days=6))) == "expired"


def test_other_purpose_denies(session: Session, world: World) -> None:
    agree(session, world)
    consumer = actor_of(session, world.consumer)
    assert check(session, consumer, world.dataset.id, purpose="AcademicResearch").allowed
    result = check(session, consumer, world.dataset.id, purpose="CommercialResearch")
    assert result.failed_term == "purpose"


def test_columns_outside_the_agreement_deny(session: Session, world: World) -> None:
    agree(session, world)
    consumer = actor_of(session, world.consumer)
    result = check(session, consumer, world.dataset.id, columns=frozenset({"kwh", "area"}))
    assert result.failed_term == "columns" and "area" in result.reason


def test_row_level_read_on_aggregate_only_denies(session: Session, world: World) -> None:
    publisher = actor_of(session, world.publisher)
    world.offer = service.create_offer(
        session=session, actor=publisher, data=offer_data(world.dataset, aggregate_only=True)
    )
    agree(session, world)
    consumer = actor_of(session, world.consumer)
    assert check(session, consumer, world.dataset.id).failed_term == "aggregate"
    assert check(session, consumer, world.dataset.id, aggregate=True).allowed


def test_daily_call_quota_denies_with_retry_after_until_midnight(
    session: Session, world: World
) -> None:
    publisher = actor_of(session, world.publisher)
    world.offer = service.create_offer(
        session=session, actor=publisher, data=offer_data(world.dataset, calls_per_day=3)
    )
    a = agree(session, world)
    consumer = actor_of(session, world.consumer)
    now = datetime.combine(utc_today(), datetime.min.time(), tzinfo=UTC) + timedelta(hours=23)
    for _ in range(3):
        assert check(session, consumer, world.dataset.id, now=now).allowed
        service.record_usage(session=session, agreement_id=a.id, rows=10, nbytes=100, at=now)
    denied = check(session, consumer, world.dataset.id, now=now)
    assert denied.failed_term == "quota" and denied.retry_after == 3600
    assert check(session, consumer, world.dataset.id, now=now + timedelta(hours=1)).allowed


def test_monthly_row_quota_denies_until_next_month(session: Session, world: World) -> None:
    publisher = actor_of(session, world.publisher)
    world.offer = service.create_offer(
        session=session, actor=publisher, data=offer_data(world.dataset, rows_per_month=1000)
    )
    start = utc_today()
    a = agree(session, world, period_start=start, period_end=start + timedelta(days=90))
    consumer = actor_of(session, world.consumer)
    now = noon(start)
    service.record_usage(session=session, agreement_id=a.id, rows=600, nbytes=1, at=now)
    assert check(session, consumer, world.dataset.id, now=now).rows_remaining == 400
    service.record_usage(session=session, agreement_id=a.id, rows=400, nbytes=1, at=now)
    denied = check(session, consumer, world.dataset.id, now=now)
    assert denied.failed_term == "quota" and denied.retry_after is not None
    first_next = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    expected = int(
        (datetime.combine(first_next, datetime.min.time(), tzinfo=UTC) - now).total_seconds()
    )
    assert denied.retry_after == expected


def test_agreement_scoped_token_reads_through_its_agreement_only(
    session: Session, world: World
) -> None:
    a = agree(session, world)
    b = agree(session, world, purpose="ScientificResearch")
    _plain, token = create_token(session=session, user=world.consumer, name="t", agreement_id=a.id)
    scoped = actor_for_user(session=session, user=world.consumer, token=token)
    assert check(session, scoped, world.dataset.id).agreement_id == a.id
    assert check(session, scoped, world.dataset.id, agreement_id=b.id).failed_term == "agreement"
    # without a token the consumer holds two agreements: ambiguous until one is chosen
    plain = actor_of(session, world.consumer)
    assert check(session, plain, world.dataset.id).failed_term == "agreement"
    assert check(session, plain, world.dataset.id, agreement_id=b.id).allowed


def test_record_usage_adds_up_per_day(session: Session, world: World) -> None:
    a = agree(session, world)
    day1 = noon(utc_today())
    for _ in range(4):
        service.record_usage(session=session, agreement_id=a.id, rows=5, nbytes=50, at=day1)
    service.record_usage(
        session=session, agreement_id=a.id, rows=1, nbytes=2, at=day1 + timedelta(days=1)
    )
    assert totals(
        session=session, agreement_id=a.id, start=day1.date(), end=day1.date() + timedelta(days=1)
    ) == (4, 20, 200)
    assert totals(
        session=session, agreement_id=a.id, start=day1.date(), end=day1.date() + timedelta(days=2)
    ) == (5, 21, 202)
    with pytest.raises(ValueError):
        service.record_usage(session=session, agreement_id=a.id, rows=-1, nbytes=0)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    asked=st.frozensets(st.sampled_from(["building", "month", "kwh", "area", "x"]), max_size=5),
    aggregate=st.booleans(),
    calls_before=st.integers(min_value=0, max_value=6),
)
def test_property_allowed_exactly_when_every_term_fits(
    session: Session, world: World, asked: frozenset[str], aggregate: bool, calls_before: int
) -> None:
    if not hasattr(world, "_a"):
        publisher = actor_of(session, world.publisher)
        world.offer = service.create_offer(
            session=session,
            actor=publisher,
            data=offer_data(world.dataset, calls_per_day=4, aggregate_only=True),
        )
        world._a = agree(session, world)  # type: ignore[attr-defined]
    a: Agreement = world._a  # type: ignore[attr-defined]
    day = noon(utc_today())
    session.execute(delete(UsageDay).where(UsageDay.agreement_id == a.id))
    if calls_before:
        service.record_usage(
            session=session, agreement_id=a.id, rows=0, nbytes=0, calls=calls_before, at=day
        )
    result = check(
        session,
        actor_of(session, world.consumer),
        world.dataset.id,
        columns=asked,
        aggregate=aggregate,
        now=day,
    )
    fits = asked <= {"building", "month", "kwh"} and aggregate and calls_before < 4
    assert result.allowed == fits
    if not fits:
        assert result.failed_term in {"columns", "aggregate", "quota"}
