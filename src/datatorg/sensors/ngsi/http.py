"""HTTP details of the NGSI-LD API: media types, the request's @context, answers.

* Request bodies: ``application/json`` (the @context from the ``Link`` header; an
  ``@context`` member in the body is refused) or ``application/ld+json`` (the @context in
  the body; a ``Link`` header is refused); anything else is ``415``. Bodies over 8 MiB: 413.
* Answers: ``Accept`` ``application/json`` (default; the @context is a ``Link`` header) or
  ``application/ld+json`` (``@context`` in the body); anything else is ``406``.
"""

from __future__ import annotations

import hmac
from typing import Any

import orjson
from fastapi import Request
from starlette.responses import Response

from datatorg.errors import Forbidden, PayloadTooLarge
from datatorg.sensors.ngsi import context as ld
from datatorg.sensors.ngsi.errors import (
    BadRequestData,
    InvalidRequest,
    NotAcceptable,
    UnsupportedMediaType,
)
from datatorg.web import csrf

MAX_BODY = 8 * 1024 * 1024
JSON = "application/json"
JSONLD = "application/ld+json"


def wants_ld(request: Request) -> bool:
    """Whether the answer is ``application/ld+json`` (else ``application/json``)."""
    accept = request.headers.get("accept", "")
    if not accept.strip():
        return False
    kinds = [p.split(";")[0].strip().lower() for p in accept.split(",")]
    if JSON in kinds or "*/*" in kinds or "application/*" in kinds:
        return JSONLD in kinds and kinds.index(JSONLD) < min(
            (kinds.index(k) for k in (JSON, "*/*", "application/*") if k in kinds), default=99
        )
    if JSONLD in kinds:
        return True
    raise NotAcceptable("This API answers application/json or application/ld+json")


def check_csrf(request: Request) -> None:
    """Browser (cookie) callers must send the CSRF header on writes; token callers need not."""
    if request.headers.get("authorization") or not request.cookies.get("datatorg_session"):
        return
    cookie = request.cookies.get(csrf.CSRF_COOKIE, "")
    sent = request.headers.get(csrf.CSRF_HEADER, "")
    if not cookie or not hmac.compare_digest(cookie, sent):
        raise Forbidden("Missing or wrong X-CSRF-Token header")


async def read_body(request: Request) -> tuple[Any, ld.Context]:
    """The parsed JSON body and the request's @context."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in (JSON, JSONLD):
        raise UnsupportedMediaType("Send application/json or application/ld+json")
    declared = request.headers.get("content-length")
    if declared and whole(declared) and int(declared) > MAX_BODY:
        raise PayloadTooLarge("At most 8 MiB per request")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise PayloadTooLarge("At most 8 MiB per request")
        chunks.append(chunk)
    try:
        body = orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError:
        raise InvalidRequest("The body is not valid JSON (UTF-8)") from None
    link = request.headers.get("link")
    if kind == JSONLD:
        if link and ld.CONTEXT_REL in link:
            raise BadRequestData(
                "With application/ld+json the @context goes in the body, not in a Link header"
            )
        items = body if isinstance(body, list) else [body]
        contexts = [i.get("@context") for i in items if isinstance(i, dict)]
        if any(c is None for c in contexts):
            raise BadRequestData("application/ld+json bodies need an @context")
        ctx = ld.build(contexts[0]) if contexts else ld.build(None)
        return body, ctx
    items = body if isinstance(body, list) else [body]
    if any(isinstance(i, dict) and "@context" in i for i in items):
        raise BadRequestData(
            "With application/json the @context goes in a Link header; "
            "send application/ld+json to put it in the body"
        )
    return body, ld.from_link(link)


def request_context(request: Request) -> ld.Context:
    """The @context of a request without a body (GET, DELETE)."""
    return ld.from_link(request.headers.get("link"))


def answer(
    request: Request,
    content: Any,
    ctx: ld.Context,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    with_context: bool = True,
) -> Response:
    """A JSON answer with the @context as the client asked for it."""
    extra = dict(headers or {})
    if wants_ld(request) and with_context:
        value = ctx.body_value()
        if isinstance(content, list):
            content = [{"@context": value, **c} if isinstance(c, dict) else c for c in content]
        elif isinstance(content, dict):
            content = {"@context": value, **content}
        media = JSONLD
    else:
        media = JSON
        if with_context:
            extra["Link"] = ld.link_header(ctx)
    return Response(orjson.dumps(content), status_code=status, media_type=media, headers=extra)


def options(request: Request) -> set[str]:
    raw = request.query_params.get("options", "")
    found = {o.strip() for o in raw.split(",") if o.strip()}
    fmt = request.query_params.get("format")
    if fmt in ("simplified", "keyValues"):
        found.add("keyValues")
    allowed = {
        "keyValues",
        "sysAttrs",
        "noOverwrite",
        "replace",
        "update",
        "temporalValues",
        "normalized",
        "simplified",
        "concise",
    }
    unknown = found - allowed
    if unknown:
        raise BadRequestData(f"Unknown option {sorted(unknown)[0][:40]!r}")
    if "simplified" in found:
        found.add("keyValues")
    return found


# -- the API document (web/openapi.py): what each route reads from the request -------------
ENTITY_QUERY: tuple[str, ...] = ("type", "id", "idPattern", "attrs", "pick", "q", "georel")
ENTITY_QUERY += ("geometry", "coordinates", "geoproperty", "limit", "offset", "count", "options")
ENTITY_QUERY += ("format",)
TEMPORAL = ("timerel", "timeAt", "endTimeAt", "lastN")
MULTI_STATUS: dict[int | str, dict[str, Any]] = {
    207: {"description": "Partly done: what succeeded and each error"}
}


def documented(*params: str, body: str | None = None) -> dict[str, Any]:
    """``openapi_extra`` of an NGSI-LD route, which reads its query parameters and its body
    from the request itself: names them (text), and the body's JSON type (``object`` or
    ``array``) in both media types, for the API document and its fuzzing."""
    extra: dict[str, Any] = {
        "parameters": [
            {"name": p, "in": "query", "required": False, "schema": {"type": "string"}}
            for p in params
        ]
    }
    if body is not None:
        schema = {"type": body}
        extra["requestBody"] = {
            "required": True,
            "content": {JSON: {"schema": schema}, JSONLD: {"schema": schema}},
        }
    return extra


def whole(raw: str) -> bool:
    """``raw`` is a whole number in ASCII digits (``str.isdigit`` admits ``²``, which
    ``int`` refuses), of at most 9 of them."""
    return 0 < len(raw) <= 9 and all("0" <= c <= "9" for c in raw)


def flag(request: Request, name: str) -> bool:
    """A boolean query parameter (``true``/``false``, absent = false); anything else is a
    BadRequestData."""
    raw = request.query_params.get(name)
    if raw is None or raw == "false":
        return False
    if raw == "true":
        return True
    raise BadRequestData(f"{name} must be true or false")
