"""CSRF protection for every form: a signed double-submit token.

The middleware gives each browser a ``datatorg_csrf`` cookie holding ``random.signature``;
templates put the same value in a hidden ``csrf_token`` field (``{{ csrf_field() }}``) and
``CsrfDep`` on each form handler compares the two. Scripts send it as ``X-CSRF-Token``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Request

from datatorg.errors import Forbidden

CSRF_COOKIE = "datatorg_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def _sign(secret: str, nonce: str) -> str:
    return hmac.new(secret.encode(), nonce.encode(), hashlib.sha256).hexdigest()[:32]


def new_token(secret: str) -> str:
    nonce = secrets.token_urlsafe(18)
    return f"{nonce}.{_sign(secret, nonce)}"


def is_well_signed(secret: str, token: str) -> bool:
    nonce, _, sig = token.partition(".")
    return bool(nonce) and hmac.compare_digest(sig, _sign(secret, nonce))


async def verify_csrf(request: Request) -> None:
    """Refuse an unsafe request whose form field or header does not match the CSRF cookie."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else ""
    secret = request.app.state.settings.secret_key.get_secret_value()
    if not cookie or not sent or not hmac.compare_digest(cookie, sent):
        raise Forbidden("The form has expired or did not come from this site. Reload and retry.")
    if not is_well_signed(secret, cookie):
        raise Forbidden("The form has expired or did not come from this site. Reload and retry.")


CsrfDep = Annotated[None, Depends(verify_csrf)]
