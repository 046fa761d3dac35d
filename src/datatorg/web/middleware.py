"""One ASGI middleware for every response: request id, locale, CSRF cookie, security headers."""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from http.cookies import SimpleCookie

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from datatorg import errors
from datatorg.logging import request_id_var
from datatorg.settings import Settings
from datatorg.web import csrf, errorhandlers, i18n, urls

log = logging.getLogger("datatorg.http")

LANG_COOKIE = "datatorg_lang"
HOST_RE = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?"
)

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


MAX_QUERY_BYTES = 16 * 1024  # no query of the platform needs more; longer: 414, problem+json


TOO_LONG = (
    f"The query string is longer than {MAX_QUERY_BYTES} bytes; send fewer or shorter parameters."
)
NUL_IN_QUERY = "A query parameter holds a NUL character (%00), which no value may contain."


class _UriTooLong(errors.DatatorgError):
    status = 414
    title = "URI too long"


async def _refuse(
    scope: Scope, send: Send, status: int, slug: str, title: str, detail: str
) -> None:
    face = errorhandlers.shell_face(scope.get("path", ""))
    if face is not None:  # an API face with its own error shape (NGSI-LD)
        exc = _UriTooLong(detail) if status == 414 else errors.BadRequest(detail)
        response = face(Request(scope), exc)
        response.headers.update(SECURITY_HEADERS)
        await response(scope, _no_body, send)
        return
    body = json.dumps(
        {
            "type": f"https://datatorg.halden.kommune.no/problems/{slug}",
            "title": title,
            "status": status,
            "detail": detail,
            "instance": scope.get("path", ""),
        }
    ).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        *((k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def _sets_cookie(headers: MutableHeaders, name: str) -> bool:
    """Whether the response already sets cookie ``name`` (sign-in gives a fresh CSRF token:
    one ``Set-Cookie`` per name, never two for the browser to choose from)."""
    prefix = name + "="
    return any(v.lstrip().startswith(prefix) for v in headers.getlist("set-cookie"))


class ShellMiddleware:
    """Sets the request id and locale for the request, and the headers every response carries."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.secret = settings.secret_key.get_secret_value()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        if len(query) > MAX_QUERY_BYTES:
            await _refuse(scope, send, 414, "uri-too-long", "URI too long", TOO_LONG)
            return
        if b"%00" in query or b"\x00" in query:  # no parameter of the platform holds a NUL
            await _refuse(scope, send, 400, "bad-request", "Bad request", NUL_IN_QUERY)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        rid = headers.get("x-request-id", "")
        if not (0 < len(rid) <= 64 and rid.replace("-", "").isalnum()):
            rid = secrets.token_hex(8)
        cookies = SimpleCookie()
        try:
            cookies.load(headers.get("cookie", ""))
        except Exception:  # a malformed cookie header is treated as no cookies
            cookies = SimpleCookie()
        lang_cookie = cookies[LANG_COOKIE].value if LANG_COOKIE in cookies else None
        locale = i18n.negotiate(
            headers.get("accept-language"), lang_cookie, self.settings.default_locale
        )
        token = cookies[csrf.CSRF_COOKIE].value if csrf.CSRF_COOKIE in cookies else ""
        set_csrf = not (token and csrf.is_well_signed(self.secret, token))
        if set_csrf:
            token = csrf.new_token(self.secret)
        state = scope.setdefault("state", {})
        state["csrf_token"] = token
        state["request_id"] = rid
        state["locale"] = locale
        rid_token = request_id_var.set(rid)
        loc_token = i18n.locale_var.set(locale)
        host = headers.get("host", "")
        if not HOST_RE.fullmatch(host):  # a made-up Host header never reaches a link
            host = "127.0.0.1"
        base_token = urls.set_request_base(
            self.settings, f"{scope.get('scheme', 'http')}://{host}{scope.get('root_path', '')}"
        )
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                out = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    out.setdefault(name, value)
                if self.settings.secure_cookies:
                    out.setdefault("strict-transport-security", "max-age=31536000")
                out["x-request-id"] = rid
                out.setdefault("content-language", locale)
                if set_csrf and not _sets_cookie(out, csrf.CSRF_COOKIE):
                    secure = "; Secure" if self.settings.secure_cookies else ""
                    out.append(
                        "set-cookie",
                        f"{csrf.CSRF_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax{secure}",
                    )
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],  # never the query string: it may hold personal data
                    "status": status,
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            request_id_var.reset(rid_token)
            i18n.locale_var.reset(loc_token)
            urls.reset_request_base(base_token)
