"""Privacy pages for citizens: consents (``/my/consents``). The twin of ``router.py``.

Every form carries a CSRF token and works without JavaScript; a form with bad input is
shown again with the problems in words (422) and nothing is stored.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from datatorg.errors import Invalid
from datatorg.identity import permissions as perm
from datatorg.identity.deps import ActorDep
from datatorg.privacy import present
from datatorg.privacy import service as privacy
from datatorg.privacy.models import ScopeKind
from datatorg.web.csrf import verify_csrf
from datatorg.web.deps import SessionDep, SettingsDep
from datatorg.web.formatting import LOCAL
from datatorg.web.i18n import gettext as _
from datatorg.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(verify_csrf)])

FormStr = Annotated[str, Form()]


def sign_in(path: str) -> RedirectResponse:
    return RedirectResponse(f"/login?next={path}", status_code=303)


def private(response: Response) -> Response:
    """Pages about a person are never cached."""
    response.headers["cache-control"] = "no-store"
    return response


def _consents(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: Any,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    subject = privacy.subject_for_actor(session=session, settings=settings, actor=actor)
    return private(
        render(
            request,
            "privacy/consents.html",
            {
                "page": present.consent_page(session, subject),
                "scopes": privacy.scope_choices(session=session),
                "done": request.query_params.get("done"),
                "errors": errors or [],
            },
            status_code=status_code,
        )
    )


@router.get("/my/consents", dependencies=[perm.PERSON_PAGE])
def consents_page(
    request: Request, session: SessionDep, settings: SettingsDep, actor: ActorDep
) -> Response:
    if not actor.is_authenticated:
        return sign_in("/my/consents")
    return _consents(request, session, settings, actor)


def _expiry(raw: str) -> datetime | None:
    if not raw.strip():
        return None
    day = date.fromisoformat(raw.strip())  # ValueError: the caller says so
    # the end of that day where the person is (Halden), as the page then shows it
    return datetime.combine(day, time(23, 59, 59), tzinfo=LOCAL)


@router.post("/my/consents", dependencies=[perm.PERSON_PAGE])
def give_consent(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: ActorDep,
    purpose: FormStr = "",
    scope: FormStr = "",
    expires_on: FormStr = "",
) -> Response:
    if not actor.is_authenticated:
        return sign_in("/my/consents")
    subject = privacy.subject_for_actor(session=session, settings=settings, actor=actor)
    kind, _sep, ref = scope.partition(":")
    try:
        expires = _expiry(expires_on[:20])
    except ValueError:
        problem = _("Give the end date as a date, like 2027-12-31.")
        return _consents(request, session, settings, actor, [problem], status_code=422)
    try:
        if kind not in ScopeKind.__members__ or len(purpose) > 60:
            raise Invalid("scope", errors=[{"field": "scope"}])
        if kind == ScopeKind.pilot:
            raise Invalid("pilot", errors=[{"field": "pilot"}])
        privacy.give(
            session=session,
            subject=subject,
            purpose=purpose,
            scope_kind=ScopeKind(kind),
            scope_ref=ref,
            expires_at=expires,
            channel="web",
        )
    except Invalid as exc:
        problem = _check_message(exc)
        return _consents(request, session, settings, actor, [problem], status_code=422)
    return RedirectResponse("/my/consents?done=given", status_code=303)


def _check_message(exc: Invalid) -> str:
    fields = {e.get("field") for e in exc.extra.get("errors", [])}
    if "expires_at" in fields:
        return _("The end date must be in the future.")
    if "purpose" in fields:
        return _("This purpose cannot be consented to.")
    if "pilot" in fields:
        return _("Join a pilot on the pilot's own page: taking part starts with that consent.")
    return _("Choose what the consent is for.")


@router.post("/my/consents/{consent_id}/withdraw", dependencies=[perm.PERSON_PAGE])
def withdraw_consent(
    consent_id: uuid.UUID, session: SessionDep, settings: SettingsDep, actor: ActorDep
) -> Response:
    if not actor.is_authenticated:
        return sign_in("/my/consents")
    subject = privacy.subject_for_actor(session=session, settings=settings, actor=actor)
    privacy.withdraw(session=session, subject=subject, consent_id=consent_id, channel="web")
    return RedirectResponse("/my/consents?done=withdrawn", status_code=303)
