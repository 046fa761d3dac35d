"""One handler, two shapes: RFC 9457 problem+json under ``/api`` and a friendly HTML page.

Other API faces with their own error envelope (the CKAN Action API) register a renderer for
their path prefix with ``register_error_face``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DataError, DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response

from datatorg import errors
from datatorg.db.writes import WriteBusy
from datatorg.web import forms, labels
from datatorg.web.i18n import current_locale
from datatorg.web.i18n import gettext as _
from datatorg.web.templating import render

log = logging.getLogger("datatorg.errors")

PROBLEM_JSON = "application/problem+json"

ErrorFace = Callable[[Request, errors.DatatorgError], Response]
_faces: list[tuple[str, ErrorFace]] = []
_shell_faces: dict[str, ErrorFace] = {}

_BY_STATUS: dict[int, type[errors.DatatorgError]] = {
    400: errors.BadRequest,
    401: errors.Unauthenticated,
    403: errors.Forbidden,
    404: errors.NotFound,
    409: errors.Conflict,
    413: errors.PayloadTooLarge,
    422: errors.Invalid,
    429: errors.TooManyRequests,
    503: errors.ServiceUnavailable,
}


def register_error_face(prefix: str, face: ErrorFace, *, shell: bool = False) -> None:
    """Render errors for paths under ``prefix`` with ``face`` instead of problem+json/HTML.

    ``shell``: also the shell's refusals before routing (an over-long query string, a NUL
    in it; ``web.middleware``), for a face whose API document declares only its own shape."""
    if (prefix, face) not in _faces:  # every create_app registers again
        _faces.append((prefix, face))
    if shell:
        _shell_faces[prefix] = face


def shell_face(path: str) -> ErrorFace | None:
    """The face that renders the shell's refusals for ``path``, if one registered for it."""
    return next((f for prefix, f in _shell_faces.items() if path.startswith(prefix)), None)


def wants_json(request: Request) -> bool:
    path = request.url.path
    if path.startswith("/api/"):
        return True
    accept = request.headers.get("accept", "")
    return "json" in accept and "text/html" not in accept


def problem_response(request: Request, exc: errors.DatatorgError) -> Response:
    """The problem+json response for ``exc``."""
    return JSONResponse(
        exc.problem(instance=request.url.path),
        status_code=exc.status,
        media_type=PROBLEM_JSON,
        headers=exc.headers(),
    )


def respond(request: Request, exc: errors.DatatorgError) -> Response:
    for prefix, face in _faces:
        if request.url.path.startswith(prefix):
            return face(request, exc)
    if wants_json(request):
        return problem_response(request, exc)
    return error_page(request, exc)


# A dataset named in the address (a slug: lower-case letters, digits and hyphens).
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,199}")


def _dataset_page(request: Request, term: object) -> str | None:
    """Where to ask for access, when the refusal says "ask on the dataset's page" and the
    address names the dataset (a sensor stream, a download): the advice becomes a link."""
    ref = request.path_params.get("ref") or request.path_params.get("slug")
    if term != "agreement" or not isinstance(ref, str) or not _SLUG.fullmatch(ref):
        return None
    return f"/datasets/{ref}"


def error_page(request: Request, exc: errors.DatatorgError) -> Response:
    """The error as a page, in the reader's language: what happened and what to do.

    A page that needs a signed-in person sends a visitor to the sign-in form, which brings
    them back here. The English ``detail`` (for API clients) is shown only where it has a
    translation; otherwise the page says it with the words for its status."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if exc.status == 401 and request.method == "GET":
        return RedirectResponse("/login?" + urlencode({"next": here}), status_code=303)
    status = str(exc.status if exc.status in (400, 401, 403, 404, 409, 413, 422, 429, 503) else 500)
    detail = ""
    if exc.status < 500:
        said = _(exc.detail)
        detail = said if (said != exc.detail or current_locale() == "en") else ""
    term = exc.extra.get("failed_term")
    return render(
        request,
        "error.html",
        {
            "status": exc.status,
            "title": labels.label("http_status", status),
            "detail": detail,
            "advice": labels.explain("failed_term", term) if term else None,
            "dataset_url": _dataset_page(request, term),
            # a conflict that says what it is (a duplicate request) needs no guess at the
            # cause: the generic advice ("someone else changed this") would contradict it
            "default_advice": ""
            if (detail and exc.status == 409)
            else labels.label("http_advice", status),
            "next": here,
            "errors": forms.explain(exc.extra.get("errors") or [], {}) if exc.status == 422 else [],
        },
        status_code=exc.status,
        headers=exc.headers(),
    )


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        out.append(
            {
                "location": loc[0] if loc else "",
                "field": ".".join(loc[1:]),
                "message": err.get("msg", ""),
            }
        )
    return out


_CONTENTION = (
    "database is locked",  # SQLite: the busy timeout ran out
    "deadlock detected",  # PostgreSQL: one of two transactions was chosen to give way
    "could not serialize access",
    "canceling statement due to lock timeout",
)


def is_contention(exc: BaseException) -> bool:
    """Whether ``exc`` is the database refusing a write because of other writes (so the same
    request can succeed when retried), rather than a fault."""
    if not isinstance(exc, DBAPIError):
        return False
    text = str(exc.orig).lower()
    return any(marker in text for marker in _CONTENTION)


def install_error_handlers(app: FastAPI) -> None:
    """Attach the handlers to ``app``."""

    async def on_domain(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, errors.DatatorgError)
        return respond(request, exc)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = _validation_errors(exc)
        names = ", ".join(p["field"] or p["location"] for p in problems) or "request"
        return respond(request, errors.Invalid(f"Invalid value for: {names}", errors=problems))

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 405:  # the route's own error shape (an NGSI-LD face too)
            allow = (exc.headers or {}).get("Allow") or (exc.headers or {}).get("allow") or ""
            return respond(request, errors.MethodNotAllowed(allow=allow))
        cls = _BY_STATUS.get(exc.status_code)
        if cls is None:
            err: errors.DatatorgError = errors.DatatorgError(str(exc.detail))
            err.status = exc.status_code  # type: ignore[misc]
            return JSONResponse(
                err.problem(instance=request.url.path) | {"status": exc.status_code},
                status_code=exc.status_code,
                media_type=PROBLEM_JSON,
                headers=exc.headers,
            )
        detail = exc.detail if isinstance(exc.detail, str) else None
        return respond(request, cls(detail))

    async def on_crash(request: Request, exc: Exception) -> Response:
        if isinstance(exc, DataError):  # a value the database cannot store (a NUL, too long)
            return respond(request, errors.Invalid("A value in the request cannot be stored"))
        if is_contention(exc):  # a write that could not wait its turn: try again, not a bug
            log.warning("database busy", extra={"path": request.url.path})
            return respond(request, WriteBusy())
        log.exception("unhandled error", extra={"path": request.url.path})
        return respond(request, errors.DatatorgError("An unexpected error occurred"))

    app.add_exception_handler(errors.DatatorgError, on_domain)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_crash)
