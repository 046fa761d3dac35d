"""Marketplace JSON API, agreement side: agreements, tokens, usage, statements, notifications."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse, Response

from datatorg.catalog.models import Dataset
from datatorg.identity import permissions as perm
from datatorg.identity.deps import UserActorDep
from datatorg.identity.models import Organisation, Role
from datatorg.market import agreements, metering, notify, odrl, offers
from datatorg.market import deps as market_deps
from datatorg.market.models import Agreement
from datatorg.market.schemas import (
    AgreementPage,
    AgreementRead,
    AgreementTokenCreate,
    AgreementTokenRead,
    NotificationPage,
    NotificationRead,
    StateChange,
    StatementRead,
    UsageRead,
)
from datatorg.web.deps import SessionDep, SettingsDep
from datatorg.web.urls import public_base

router = APIRouter(tags=["market"])  # included under /api/v1 by market.router

LD_JSON = "application/ld+json"
Page = Annotated[int, Query(ge=1, le=100_000)]
# Years 1900-2999: a statement month must have a month after it (9999-12 has none) and a
# year the calendar knows (0000 is none); 422 otherwise, never 500.
MONTH = r"^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])$"
Month = Annotated[str, Query(pattern=MONTH, description="YYYY-MM, years 1900-2999")]


def wants_ld(request: Request) -> bool:
    return LD_JSON in request.headers.get("accept", "")


def parse_month(month: str | None) -> date:
    if month is None:
        return metering.today().replace(day=1)
    return date(int(month[:4]), int(month[5:7]), 1)


# --- agreements ---------------------------------------------------------------------------


def agreement_read(a: Agreement) -> AgreementRead:
    read = AgreementRead.model_validate(a)
    read.effective_state = agreements.effective_state(a)
    return read


def assignee_iri(session: Session, a: Agreement, base: str) -> str:
    if a.assignee_org_id is not None:
        org = session.get(Organisation, a.assignee_org_id)
        return f"{base}/organisations/{org.slug if org else a.assignee_org_id}"
    return f"{base}/api/v1/agreements/{a.id}#assignee"  # a private person: no identifier


@router.get("/agreements", dependencies=[perm.SIGNED_IN])
def get_agreements(
    session: SessionDep,
    actor: UserActorDep,
    role: Literal["consumer", "provider"] = "consumer",
    page: Page = 1,
) -> AgreementPage:
    rows, total = agreements.list_agreements(
        session=session,
        actor=actor,
        as_provider=role == "provider",
        limit=50,
        offset=(page - 1) * 50,
    )
    return AgreementPage(items=[agreement_read(a) for a in rows], total=total)


@router.get(
    "/agreements/{agreement_id}",
    response_model=None,
    dependencies=[perm.party(market_deps.agreement, Role.steward, Role.publisher, hide=True)],
)
def get_agreement(
    agreement_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: UserActorDep,
) -> AgreementRead | Response:
    """One agreement; as an ODRL 2.2 Agreement with ``Accept: application/ld+json``."""
    a = agreements.get_visible_agreement(session=session, actor=actor, agreement_id=agreement_id)
    if wants_ld(request):
        base = public_base(request)
        dataset = session.get(Dataset, a.dataset_id)
        assert dataset is not None
        doc = odrl.agreement_document(
            a,
            base_url=base,
            dataset_slug=dataset.slug,
            assigner_slug=offers.provider_slug(session=session, org_id=a.assigner_org_id),
            assignee_iri=assignee_iri(session, a, base),
        )
        return JSONResponse(doc, media_type=LD_JSON)
    return agreement_read(a)


@router.post(
    "/agreements/{agreement_id}/suspend",
    dependencies=[perm.org(market_deps.agreement, Role.steward, Role.publisher, person=True)],
)
def suspend(
    agreement_id: uuid.UUID,
    data: StateChange,
    session: SessionDep,
    settings: SettingsDep,
    actor: UserActorDep,
) -> AgreementRead:
    return agreement_read(
        agreements.suspend(
            session=session,
            settings=settings,
            actor=actor,
            agreement_id=agreement_id,
            reason=data.reason,
        )
    )


@router.post(
    "/agreements/{agreement_id}/resume",
    dependencies=[perm.org(market_deps.agreement, Role.steward, Role.publisher, person=True)],
)
def resume(
    agreement_id: uuid.UUID,
    data: StateChange,
    session: SessionDep,
    settings: SettingsDep,
    actor: UserActorDep,
) -> AgreementRead:
    return agreement_read(
        agreements.resume(
            session=session,
            settings=settings,
            actor=actor,
            agreement_id=agreement_id,
            reason=data.reason,
        )
    )


@router.post(
    "/agreements/{agreement_id}/revoke",
    dependencies=[perm.org(market_deps.agreement, Role.steward, Role.publisher, person=True)],
)
def revoke(
    agreement_id: uuid.UUID,
    data: StateChange,
    session: SessionDep,
    settings: SettingsDep,
    actor: UserActorDep,
) -> AgreementRead:
    return agreement_read(
        agreements.revoke(
            session=session,
            settings=settings,
            actor=actor,
            agreement_id=agreement_id,
            reason=data.reason,
        )
    )


@router.post(
    "/agreements/{agreement_id}/terminate",
    dependencies=[perm.consumer(market_deps.agreement, person=True)],
)
def terminate(
    agreement_id: uuid.UUID,
    data: StateChange,
    session: SessionDep,
    settings: SettingsDep,
    actor: UserActorDep,
) -> AgreementRead:
    return agreement_read(
        agreements.terminate(
            session=session,
            settings=settings,
            actor=actor,
            agreement_id=agreement_id,
            reason=data.reason,
        )
    )


@router.post(
    "/agreements/{agreement_id}/tokens",
    status_code=201,
    dependencies=[perm.own(market_deps.agreement, person=True, hide=False)],
)
def create_token(
    agreement_id: uuid.UUID, data: AgreementTokenCreate, session: SessionDep, actor: UserActorDep
) -> AgreementTokenRead:
    """An API token that reads through this agreement only; shown once."""
    plain, record = agreements.create_agreement_token(
        session=session, actor=actor, agreement_id=agreement_id, name=data.name, days=data.days
    )
    assert record.expires_at is not None
    return AgreementTokenRead(
        token=plain, token_id=record.id, agreement_id=agreement_id, expires_at=record.expires_at
    )


@router.get(
    "/agreements/{agreement_id}/usage",
    dependencies=[perm.party(market_deps.agreement, Role.steward, Role.publisher, hide=True)],
)
def usage(
    agreement_id: uuid.UUID,
    session: SessionDep,
    actor: UserActorDep,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> UsageRead:
    """Calls, rows and bytes per day for the last ``days`` days."""
    a = agreements.get_visible_agreement(session=session, actor=actor, agreement_id=agreement_id)
    end = metering.today()
    rows = metering.usage_days(
        session=session,
        agreement_id=a.id,
        start=end - timedelta(days=days - 1),
        end=end + timedelta(days=1),
    )
    return UsageRead(agreement_id=a.id, days=rows)


@router.get(
    "/agreements/{agreement_id}/statement",
    dependencies=[perm.party(market_deps.agreement, Role.steward, Role.publisher, hide=True)],
)
def statement(
    agreement_id: uuid.UUID, session: SessionDep, actor: UserActorDep, month: Month | None = None
) -> StatementRead:
    """The monthly statement (``month=YYYY-MM``, default this month) with the amount due."""
    a = agreements.get_visible_agreement(session=session, actor=actor, agreement_id=agreement_id)
    return metering.statement(session=session, agreement=a, month=parse_month(month))


# --- notifications ------------------------------------------------------------------------


@router.get("/notifications", dependencies=[perm.PERSON])
def notifications(session: SessionDep, actor: UserActorDep, page: Page = 1) -> NotificationPage:
    assert actor.user_id is not None
    items = notify.inbox(session=session, user_id=actor.user_id, limit=50, offset=(page - 1) * 50)
    return NotificationPage(
        items=[NotificationRead.model_validate(n) for n in items],
        unread=notify.unread_count(session=session, user_id=actor.user_id),
    )


@router.get("/notifications/unread-count", dependencies=[perm.PERSON])
def unread(session: SessionDep, actor: UserActorDep) -> dict[str, int]:
    assert actor.user_id is not None
    return {"unread": notify.unread_count(session=session, user_id=actor.user_id)}


@router.post(
    "/notifications/{notification_id}/read",
    status_code=204,
    dependencies=[perm.own(market_deps.notification, person=True)],
)
def read_one(notification_id: uuid.UUID, session: SessionDep, actor: UserActorDep) -> Response:
    assert actor.user_id is not None
    notify.mark_read(session=session, user_id=actor.user_id, notification_id=notification_id)
    return Response(status_code=204)


@router.post("/notifications/read-all", status_code=204, dependencies=[perm.PERSON])
def read_all(session: SessionDep, actor: UserActorDep) -> Response:
    assert actor.user_id is not None
    notify.mark_all_read(session=session, user_id=actor.user_id)
    return Response(status_code=204)
