"""Shell pages: front page, language switch, health checks."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter
from sqlalchemy import text
from starlette.responses import JSONResponse, RedirectResponse, Response

from datatorg import __version__
from datatorg.errors import NotFound
from datatorg.web.deps import SessionDep, SettingsDep
from datatorg.web.i18n import LOCALES
from datatorg.web.middleware import LANG_COOKIE

router = APIRouter(include_in_schema=False)
# The health probes, included with ``identity.permissions.PROBE``: the caller is not looked up
probes = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """A local path to go back to; anything pointing off-site becomes ``/``."""
    if not target or len(target) > 2000:
        return "/"
    # Browsers read a backslash as a slash ("/\\evil.example" is "//evil.example").
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/favicon.ico")
def favicon() -> Response:
    """Browsers ask for /favicon.ico before they read the page's icon link."""
    return RedirectResponse("/static/favicon.svg", status_code=301)


@router.get("/lang/{code}")
def switch_language(code: str, settings: SettingsDep, next: str | None = None) -> Response:
    """Choose the language with a plain link (works without JavaScript)."""
    if code not in LOCALES:
        raise NotFound("No such language")
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        LANG_COOKIE,
        code,
        max_age=365 * 24 * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )
    return response


@probes.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok", "version": __version__}


@probes.get("/readyz")
def readyz(session: SessionDep) -> Response:
    """The process can reach its database."""
    try:
        session.execute(text("SELECT 1"))
    except Exception:
        return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "up"})
