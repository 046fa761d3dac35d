"""Agreements: frozen terms, content hash, state changes, audit, statements under each price."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from datatorg.audit import service as audit
from datatorg.errors import Conflict
from datatorg.market import metering, service
from datatorg.market.agreements import canonical_content, content_hash, verify_hash
from datatorg.market.metering import today as utc_today
from datatorg.market.models import Agreement, PriceModel
from tests.factories import actor_of
from tests.market.conftest import World, offer_data, request_data


def _agreement(session: Session, world: World, **offer_kw: object) -> Agreement:
    if offer_kw:
        world.offer = service.create_offer(
            session=session,
            actor=actor_of(session, world.publisher),
            data=offer_data(world.dataset, **offer_kw),
        )
    req = service.create_request(
        session=session,
        settings=None,
        actor=actor_of(session, world.consumer),
        data=request_data(world.offer),
    )
    return service.approve(
        session=session, settings=None, actor=actor_of(session, world.steward), request_id=req.id
    )


def test_terms_are_frozen_but_state_may_change(session: Session, world: World) -> None:
    a = _agreement(session, world)
    a.purpose = "CommercialResearch"
    with pytest.raises(ValueError, match="immutable"):
        session.flush()
    session.rollback()


def test_state_may_change_and_hash_still_holds(session: Session, world: World) -> None:
    a = _agreement(session, world)
    service.suspend(
        session=session,
        settings=None,
        actor=actor_of(session, world.steward),
        agreement_id=a.id,
        reason="check",
    )
    session.flush()
    assert verify_hash(a)


def test_hash_is_sha256_of_canonical_json_and_detects_tampering(
    session: Session, world: World
) -> None:
    a = _agreement(session, world)
    content = canonical_content(a)
    assert set(content) >= {
        "assigner",
        "assignee_user",
        "target",
        "purpose",
        "columns",
        "valid_from",
        "valid_until",
        "agreed_at",
    }
    assert len(a.content_hash) == 64 and content_hash(a) == a.content_hash
    a.__dict__["columns"] = ["kwh", "secret"]  # bypassing the ORM, as a tamperer would
    assert not verify_hash(a)


def test_revoked_cannot_be_revived(session: Session, world: World) -> None:
    a = _agreement(session, world)
    steward = actor_of(session, world.steward)
    service.revoke(session=session, settings=None, actor=steward, agreement_id=a.id, reason="r")
    with pytest.raises(Conflict):
        service.suspend(
            session=session, settings=None, actor=steward, agreement_id=a.id, reason="s"
        )
    with pytest.raises(Conflict):
        service.revoke(
            session=session, settings=None, actor=steward, agreement_id=a.id, reason="again"
        )


def test_grants_refusals_and_state_changes_are_audited(session: Session, world: World) -> None:
    a = _agreement(session, world)
    steward = actor_of(session, world.steward)
    req = service.create_request(
        session=session,
        settings=None,
        actor=actor_of(session, world.consumer),
        data=request_data(world.offer, purpose="ScientificResearch"),  # another contract
    )
    service.reject(session=session, settings=None, actor=steward, request_id=req.id, reason="no")
    service.suspend(session=session, settings=None, actor=steward, agreement_id=a.id, reason="s")
    service.revoke(session=session, settings=None, actor=steward, agreement_id=a.id, reason="r")
    assert audit.count(session=session, action="agreement.grant", target_id=str(a.id)) == 1
    assert audit.count(session=session, action="access_request.reject", target_id=str(req.id)) == 1
    assert audit.count(session=session, action="agreement.suspend", target_id=str(a.id)) == 1
    assert audit.count(session=session, action="agreement.revoke", target_id=str(a.id)) == 1
    assert audit.verify_chain(session=session).ok


@pytest.mark.parametrize(
    ("model", "price", "expected"),
    [
        (PriceModel.free, "0", Decimal("0.00")),
        (PriceModel.monthly, "990", Decimal("990.00")),
        (PriceModel.per_call, "0.10", Decimal("1.20")),  # 12 calls
        (PriceModel.per_1000_rows, "2.50", Decimal("3.75")),  # 1500 rows
    ],
)
def test_statement_amount_under_each_price_model(
    session: Session, world: World, model: PriceModel, price: str, expected: Decimal
) -> None:
    a = _agreement(session, world, price_model=model.value, price_nok=price)
    at = datetime.combine(utc_today(), datetime.min.time(), tzinfo=UTC) + timedelta(hours=1)
    for _ in range(12):
        service.record_usage(session=session, agreement_id=a.id, rows=125, nbytes=1000, at=at)
    st = metering.statement(session=session, agreement=a, month=utc_today())
    assert (st.calls, st.rows, st.nbytes) == (12, 1500, 12000)
    assert st.amount_due_nok == expected
    # a month outside the agreement costs nothing, even under a monthly price
    old = metering.statement(session=session, agreement=a, month=date(2020, 1, 1))
    assert old.amount_due_nok == Decimal("0.00") and old.calls == 0


def test_statement_csv_neutralises_formulas(session: Session, world: World) -> None:
    a = _agreement(session, world)
    st = metering.statement(session=session, agreement=a, month=utc_today())
    text = metering.statement_csv(st, dataset="=1+2", recipient="@SUM(A1)")
    assert "'=1+2" in text and "'@SUM(A1)" in text
    assert ",=1+2" not in text
