"""Identity pages: sign up, sign in, sign out, password reset, terms.

The twin of ``router.py``; every form posts a CSRF token (``CsrfDep`` comes first in each
handler so a forged post is refused before anything else is looked at).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from datatorg.errors import Conflict, Invalid, TooManyRequests
from datatorg.identity import auth, mails, sessions
from datatorg.identity import permissions as perm
from datatorg.identity.schemas import (
    MIN_PASSWORD_LENGTH,
    PasswordResetConfirm,
    SignupCreate,
)
from datatorg.identity.views import client_address
from datatorg.web.csrf import CsrfDep
from datatorg.web.deps import SessionDep, SettingsDep
from datatorg.web.i18n import current_locale
from datatorg.web.i18n import gettext as _
from datatorg.web.pages import safe_next
from datatorg.web.templating import render

router = APIRouter(include_in_schema=False)

FormStr = Annotated[str, Form()]


def field_messages(exc: ValidationError) -> dict[str, str]:
    """One translated message per invalid form field."""
    messages = {
        "email": _("Enter a valid e-mail address."),
        "display_name": _("Enter your name (at most 200 characters)."),
        "password": _("The password must be at least {n} characters.").format(
            n=MIN_PASSWORD_LENGTH
        ),
        "accept_terms": _("You must accept the terms of use."),
        "token": _("This reset link is invalid, used or expired. Ask for a new one."),
    }
    out: dict[str, str] = {}
    for err in exc.errors():
        name = str(err["loc"][0]) if err["loc"] else ""
        out.setdefault(name, messages.get(name, _("This value is not valid.")))
    return out


def _redirect(to: str) -> RedirectResponse:
    return RedirectResponse(to, status_code=303)


def _signed_in(
    request: Request, session: SessionDep, settings: SettingsDep, user: Any, to: str
) -> Response:
    token = sessions.start_session(
        session=session,
        user=user,
        settings=settings,
        replacing=request.cookies.get(sessions.SESSION_COOKIE),
    )
    response = _redirect(to)
    sessions.set_session_cookie(response, token, settings)
    return response


@router.get("/signup", dependencies=[perm.ANYONE])
def signup_form(request: Request, next: str | None = None) -> Response:
    return render(request, "identity/signup.html", {"values": {}, "errors": {}, "next": next})


@router.post("/signup", dependencies=[perm.ANYONE])
def signup(
    _csrf: CsrfDep,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: FormStr = "",
    display_name: FormStr = "",
    password: FormStr = "",
    accept_terms: FormStr = "",
    next: FormStr = "",
) -> Response:
    values = {"email": email[:320], "display_name": display_name[:200]}
    ctx: dict[str, Any] = {"values": values, "next": next}
    try:
        data = SignupCreate(
            email=email,
            display_name=display_name,
            password=password,
            accept_terms=accept_terms == "on",
            locale=current_locale(),
        )
        user = auth.sign_up(session=session, data=data)
    except ValidationError as exc:
        ctx["errors"] = field_messages(exc)
        return render(request, "identity/signup.html", ctx, status_code=422)
    except Conflict:
        ctx["errors"] = {
            "email": _(
                "An account with this e-mail address already exists. "
                "Sign in, or reset the password if you have forgotten it."
            )
        }
        return render(request, "identity/signup.html", ctx, status_code=409)
    return _signed_in(request, session, settings, user, safe_next(next or "/account"))


@router.get("/login", dependencies=[perm.ANYONE])
def login_form(request: Request, next: str | None = None, done: str | None = None) -> Response:
    return render(request, "identity/login.html", {"next": next, "done": done, "values": {}})


@router.post("/login", dependencies=[perm.ANYONE])
def login(
    _csrf: CsrfDep,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: FormStr = "",
    password: FormStr = "",
    next: FormStr = "",
) -> Response:
    ctx: dict[str, Any] = {"next": next, "values": {"email": email[:320]}}
    if not email or not password or len(email) > 320 or len(password) > 1024:
        ctx["error"] = _("Wrong e-mail address or password.")
        return render(request, "identity/login.html", ctx, status_code=422)
    try:
        user = auth.authenticate(
            session=session,
            settings=settings,
            email=email,
            password=password,
            address=client_address(request),
        )
    except TooManyRequests as exc:
        ctx["error"] = _("Too many failed attempts. Wait a minute and try again.")
        return render(request, "identity/login.html", ctx, status_code=429, headers=exc.headers())
    if user is None:  # rendered, not raised, so the counted failure commits
        ctx["error"] = _("Wrong e-mail address or password.")
        return render(request, "identity/login.html", ctx, status_code=401)
    return _signed_in(request, session, settings, user, safe_next(next or "/account"))


@router.post("/logout", dependencies=[perm.ANYONE])
def logout(
    _csrf: CsrfDep, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    token = request.cookies.get(sessions.SESSION_COOKIE)
    if token:
        sessions.end_session(session=session, token=token)
    response = _redirect("/login?done=signed-out")
    sessions.clear_session_cookie(response, settings)
    return response


@router.get("/password-reset", dependencies=[perm.ANYONE])
def reset_form(request: Request) -> Response:
    return render(request, "identity/reset_request.html", {"sent": False})


@router.post("/password-reset", dependencies=[perm.ANYONE])
def reset_request(
    _csrf: CsrfDep,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: FormStr = "",
) -> Response:
    if 0 < len(email) <= 320:
        issued = auth.request_password_reset(session=session, settings=settings, email=email)
        if issued is not None:
            mails.queue_reset_mail(
                session=session, issued=issued, minutes=settings.reset_token_minutes
            )
    return render(request, "identity/reset_request.html", {"sent": True})


@router.get("/password-reset/confirm", dependencies=[perm.ANYONE])
def reset_confirm_form(request: Request, token: str = "") -> Response:
    response = render(request, "identity/reset_confirm.html", {"token": token[:200], "errors": {}})
    response.headers["cache-control"] = "no-store"
    return response


@router.post("/password-reset/confirm", dependencies=[perm.ANYONE])
def reset_confirm(
    _csrf: CsrfDep,
    request: Request,
    session: SessionDep,
    token: FormStr = "",
    password: FormStr = "",
) -> Response:
    ctx: dict[str, Any] = {"token": token[:200]}
    try:
        data = PasswordResetConfirm(token=token, password=password)
        auth.complete_password_reset(session=session, token=data.token, password=data.password)
    except ValidationError as exc:
        ctx["errors"] = field_messages(exc)
        return render(request, "identity/reset_confirm.html", ctx, status_code=422)
    except Invalid:
        ctx["errors"] = {
            "token": _("This reset link is invalid, used or expired. Ask for a new one.")
        }
        return render(request, "identity/reset_confirm.html", ctx, status_code=422)
    return _redirect("/login?done=reset")


@router.get("/terms", dependencies=[perm.ANYONE])
def terms(request: Request) -> Response:
    return render(request, "identity/terms.html")
