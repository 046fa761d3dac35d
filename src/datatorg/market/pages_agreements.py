"""Agreement pages: list, detail with usage chart, tokens, state changes, statements, inbox."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from datatorg.catalog.models import Dataset
from datatorg.errors import NotFound
from datatorg.identity import permissions as perm
from datatorg.identity.deps import UserActorDep
from datatorg.identity.models import Organisation, Role
from datatorg.market import agreements, metering, notify, policies
from datatorg.market import deps as market_deps
from datatorg.market.models import Agreement
from datatorg.market.present import dataset_facts, title
from datatorg.market.schemas import AgreementTokenCreate, StateChange
from datatorg.market.vocab import purposes
from datatorg.web import charts, forms
from datatorg.web.csrf import CsrfDep
from datatorg.web.deps import SessionDep, SettingsDep
from datatorg.web.i18n import _, current_locale
from datatorg.web.templating import render
from datatorg.web.urls import public_base

router = APIRouter(include_in_schema=False)

MONTH = r"^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])$"  # years 1900-2999 (see router_agreements)


def describe(session: SessionDep, a: Agreement) -> dict[str, Any]:
    ds = session.get(Dataset, a.dataset_id)
    org = session.get(Organisation, a.assignee_org_id) if a.assignee_org_id else None
    provider = session.get(Organisation, a.assigner_org_id)
    term = purposes().get(a.purpose)
    return {
        "a": a,
        "dataset": title(ds),
        "dataset_slug": ds.slug if ds else "",
        "recipient": org.name if org else _("private individual"),
        "provider": provider.name if provider else "",
        "purpose_label": term.label(current_locale()) if term else a.purpose,
        "state": agreements.effective_state(a),
        "last_day": (a.valid_until - timedelta(days=1)).date(),
    }


@router.get("/market/agreements", dependencies=[perm.SIGNED_IN])
def agreement_list(request: Request, session: SessionDep, actor: UserActorDep) -> Response:
    mine, _n1 = agreements.list_agreements(session=session, actor=actor, as_provider=False)
    given, _n2 = agreements.list_agreements(session=session, actor=actor, as_provider=True)
    return render(
        request,
        "market/agreements.html",
        {
            "mine": [describe(session, a) for a in mine],
            "given": [describe(session, a) for a in given],
        },
    )


def _detail(
    request: Request,
    session: SessionDep,
    actor: Any,
    agreement_id: uuid.UUID,
    token: str = "",
    errors: list[dict[str, Any]] | None = None,
    status_code: int = 200,
) -> Response:
    a = agreements.get_visible_agreement(session=session, actor=actor, agreement_id=agreement_id)
    end = metering.today()
    days = metering.usage_days(
        session=session,
        agreement_id=a.id,
        start=end - timedelta(days=29),
        end=end + timedelta(days=1),
    )
    chart = charts.line_chart(
        [(d.day, d.calls) for d in days],
        title=_("Calls per day, last 30 days"),
        x_title=_("Day"),
        y_title=_("Calls"),
        ident="usage",
    )
    is_provider = policies.can_suspend_or_revoke(actor, a.assigner_org_id)
    state = agreements.effective_state(a)
    ds = session.get(Dataset, a.dataset_id)
    facts = dataset_facts(session, ds) if ds is not None else None
    explained = forms.explain(
        errors or [], {"reason": _("Reason"), "name": _("Name"), "days": _("Valid for (days)")}
    )
    base = public_base(request)
    return render(
        request,
        "market/agreement.html",
        {
            **describe(session, a),
            "ds": facts,
            "agreed_columns": facts.describe(a.columns) if facts else [],
            "days": days,
            "chart": chart,
            "token": token,
            "examples": usage_examples(base, facts.slug if facts else "", token, a.columns)
            if token
            else None,
            "base_url": base,
            "made": request.query_params.get("made", ""),
            "errors": explained,
            "field_errors": forms.by_field(explained),
            "can_suspend": is_provider and a.state.value == "active",
            "can_resume": is_provider and a.state.value == "suspended",
            "can_revoke": is_provider and a.state.value in ("active", "suspended"),
            "can_terminate": policies.can_terminate(actor, a.assignee_user_id, a.assignee_org_id)
            and a.state.value in ("active", "suspended"),
            "is_consumer": policies.can_create_agreement_token(actor, a.assignee_user_id),
            "can_token": policies.can_create_agreement_token(actor, a.assignee_user_id)
            and state == "active",
            "hash_ok": agreements.verify_hash(a),
            "month": end.strftime("%Y-%m"),
        },
        status_code=status_code,
    )


def usage_examples(base: str, slug: str, token: str, columns: list[str] | None) -> dict[str, str]:
    """How to read with a new key: a ``curl`` command and a Python snippet (shown once)."""
    query = "?_size=100" + ("&_col=" + ",".join(columns) if columns else "")
    url = f"{base}/api/v1/datasets/{slug}/rows{query}"
    return {
        "url": url,
        "curl": f'curl -H "Authorization: Bearer {token}" "{url}"',
        "python": (
            "import httpx\n\n"
            f'TOKEN = "{token}"\n'
            f'url = "{url}"\n'
            'page = httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"}).json()\n'
            'print(page["columns"])\n'
            'for row in page["rows"]:\n'
            "    print(row)\n"
            '# next page: page["next_url"] (None on the last page)\n'
        ),
    }


@router.get(
    "/market/agreements/{agreement_id}",
    dependencies=[perm.party(market_deps.agreement, Role.steward, Role.publisher, hide=True)],
)
def agreement_page(
    agreement_id: uuid.UUID, request: Request, session: SessionDep, actor: UserActorDep
) -> Response:
    return _detail(request, session, actor, agreement_id)


@router.post(
    "/market/agreements/{agreement_id}/token",
    dependencies=[perm.own(market_deps.agreement, person=True, hide=False)],
)
async def token_create(
    agreement_id: uuid.UUID, request: Request, session: SessionDep, actor: UserActorDep, _c: CsrfDep
) -> Response:
    form = await request.form()

    def work() -> Response:
        try:
            data = AgreementTokenCreate.model_validate(
                {"name": str(form.get("name") or "agreement"), "days": str(form.get("days") or 90)}
            )
        except ValidationError as exc:
            errs: list[dict[str, Any]] = [
                {"field": str(e["loc"][0]), "type": e["type"], "ctx": e.get("ctx") or {}}
                for e in exc.errors()
            ]
            return _detail(request, session, actor, agreement_id, errors=errs, status_code=422)
        plain, _r = agreements.create_agreement_token(
            session=session, actor=actor, agreement_id=agreement_id, name=data.name, days=data.days
        )
        return _detail(request, session, actor, agreement_id, token=plain)

    return await run_in_threadpool(work)  # the database work, off the event loop


@router.post(
    "/market/agreements/{agreement_id}/{action}",
    dependencies=[perm.party(market_deps.agreement, Role.steward, Role.publisher, person=True)],
)
async def change_state(
    agreement_id: uuid.UUID,
    action: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: UserActorDep,
    _c: CsrfDep,
) -> Response:
    """Suspend, resume, revoke (provider) or terminate (consumer), with a reason."""
    funcs = {
        "suspend": agreements.suspend,
        "resume": agreements.resume,
        "revoke": agreements.revoke,
        "terminate": agreements.terminate,
    }
    if action not in funcs:
        raise NotFound("No such action")
    form = await request.form()

    def work() -> Response:
        try:
            data = StateChange.model_validate({"reason": str(form.get("reason") or "")})
        except ValidationError:
            errs = [{"field": "reason", "code": "reason_required"}]
            return _detail(request, session, actor, agreement_id, errors=errs, status_code=422)
        funcs[action](
            session=session,
            settings=settings,
            actor=actor,
            agreement_id=agreement_id,
            reason=data.reason,
        )
        return RedirectResponse(f"/market/agreements/{agreement_id}", status_code=303)

    return await run_in_threadpool(work)  # the database work, off the event loop


def _statement(
    session: SessionDep, actor: Any, agreement_id: uuid.UUID, month: str | None
) -> tuple[dict[str, Any], Any]:
    a = agreements.get_visible_agreement(session=session, actor=actor, agreement_id=agreement_id)
    first = date(int(month[:4]), int(month[5:7]), 1) if month else metering.today().replace(day=1)
    return describe(session, a), metering.statement(session=session, agreement=a, month=first)


@router.get(
    "/market/agreements/{agreement_id}/statement",
    dependencies=[perm.party(market_deps.agreement, Role.steward, Role.publisher, hide=True)],
)
def statement_page(
    agreement_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    actor: UserActorDep,
    month: str | None = Query(None, pattern=MONTH),
) -> Response:
    """A printable monthly statement with the amount due."""
    info, st = _statement(session, actor, agreement_id, month)
    return render(request, "market/statement.html", {**info, "st": st})


@router.get(
    "/market/agreements/{agreement_id}/statement.csv",
    dependencies=[perm.party(market_deps.agreement, Role.steward, Role.publisher, hide=True)],
)
def statement_csv(
    agreement_id: uuid.UUID,
    session: SessionDep,
    actor: UserActorDep,
    month: str | None = Query(None, pattern=MONTH),
) -> Response:
    info, st = _statement(session, actor, agreement_id, month)
    body = metering.statement_csv(st, dataset=info["dataset"], recipient=info["recipient"])
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="statement-{st.month}.csv"'},
    )


INBOX_PAGE = 50


@router.get("/market/inbox", dependencies=[perm.PERSON])
def inbox(
    request: Request,
    session: SessionDep,
    actor: UserActorDep,
    page: int = Query(1, ge=1, le=10_000),
) -> Response:
    """The person's messages, newest first, 50 to a page: older ones are a link away, never cut
    off (a steward receives one per request)."""
    assert actor.user_id is not None
    found = notify.inbox(
        session=session,
        user_id=actor.user_id,
        limit=INBOX_PAGE + 1,
        offset=(page - 1) * INBOX_PAGE,
    )
    unread = notify.unread_count(session=session, user_id=actor.user_id)
    return render(
        request,
        "market/inbox.html",
        {
            "items": found[:INBOX_PAGE],
            "unread": unread,
            "page": page,
            "older": len(found) > INBOX_PAGE,
        },
    )


@router.post(
    "/market/inbox/{notification_id}/read",
    dependencies=[perm.own(market_deps.notification, person=True)],
)
def inbox_read(
    notification_id: uuid.UUID, session: SessionDep, actor: UserActorDep, _c: CsrfDep
) -> Response:
    assert actor.user_id is not None
    notify.mark_read(session=session, user_id=actor.user_id, notification_id=notification_id)
    return RedirectResponse("/market/inbox", status_code=303)


@router.post("/market/inbox/read-all", dependencies=[perm.SIGNED_IN])
def inbox_read_all(session: SessionDep, actor: UserActorDep, _c: CsrfDep) -> Response:
    assert actor.user_id is not None
    notify.mark_all_read(session=session, user_id=actor.user_id)
    return RedirectResponse("/market/inbox", status_code=303)
