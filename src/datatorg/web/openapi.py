"""The OpenAPI document says every answer: error statuses and media types included.

FastAPI documents a route's success answer and a 422 in its own shape; the API also answers
400, 401, 403, 404, 409, 413, 414, 429 and 503, all as RFC 9457 ``application/problem+json``
(``datatorg.web.errorhandlers``), and some successes in other media types (downloads,
DCAT, ODRL). ``install_openapi`` builds the document once with:

- a ``Problem`` schema and, on every operation, the error answers it can give (``ERRORS``;
  413 only where a body is sent), in problem+json; the CKAN Action API's errors in CKAN's
  own JSON envelope instead;
- the media types of answers that are not JSON (``MEDIA``);
- only the machine faces: ``/api/...``, the DCAT catalog and NGSI-LD (``/ngsi-ld/``, whose
  errors are the ETSI ProblemDetails in ``application/json``, with 406 and 415 as well);
  HTML pages are not API operations and are left out (each has a JSON twin that is in).

A new route needs nothing more, unless it answers another media type: add it to ``MEDIA``.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

PROBLEM_JSON = "application/problem+json"
ERRORS = {
    "400": "The request could not be understood",
    "401": "Sign in or send an API token",
    "403": "Not allowed for this caller",
    "404": "No such thing (or not visible to this caller)",
    "409": "Conflicts with the current state",
    "413": "The body is too large",
    "414": "The query string is too long",
    "422": "Invalid input: ``errors`` says where and what",
    "429": "Too many requests: retry after ``Retry-After`` seconds",
    "503": "Busy, or over a time or memory budget: retry after ``Retry-After`` seconds",
}
WITH_BODY = {"post", "put", "patch"}
MACHINE_FACES = ("/api/", "/catalog", "/dataset/", "/ngsi-ld/")
CKAN = ("/api/3/", "/api/action/")
NGSI_LD = "/ngsi-ld/"  # ETSI GS CIM 009 ProblemDetails (sensors/ngsi/errors.py)
NGSI_LD_ERRORS = {
    "406": "Not acceptable: answers are application/json or application/ld+json",
    "415": "Unsupported media type: send application/json or application/ld+json",
}
TEXT_FORMS = ("/dataset/{ref}", "/catalog")

# path pattern -> media types of its success answer (instead of application/json)
MEDIA: list[tuple[str, list[str]]] = [
    (
        r"/download\.\{fmt\}$",
        [
            "text/csv",
            "application/json",
            "application/x-ndjson",
            "application/vnd.apache.parquet",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ],
    ),
    (
        r"^/(catalog|dataset/\{ref\})(\.\{ext\})?$",
        ["text/turtle", "application/rdf+xml", "application/ld+json", "text/html"],
    ),
    (r"/datapackage\.json$", ["application/json"]),
    (r"^/api/v1/(offers|agreements)(/\{[^}]+\})?$", ["application/json", "application/ld+json"]),
    (r"/statement$", ["application/json"]),
    (r"^/ngsi-ld/v1/jsonldContexts/", ["application/ld+json"]),
    (r"^/ngsi-ld/", ["application/json", "application/ld+json"]),
    (
        r"^/api/v1/pilots/\{pilot_id\}/reports/\{report_id\}$",  # a pilot's report file
        [
            "application/pdf",
            "image/png",
            "image/jpeg",
            "application/vnd.oasis.opendocument.text",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "text/csv",
            "text/plain",
        ],
    ),
]

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
        "retry_after": {"type": "integer"},
    },
    "required": ["type", "title", "status"],
}


def _errors(path: str, method: str) -> dict[str, Any]:
    problem = {"schema": {"$ref": "#/components/schemas/Problem"}}
    errors = ERRORS
    if path.startswith(CKAN):  # CKAN's own envelope
        content: dict[str, Any] = {"application/json": {"schema": {"type": "object"}}}
    elif path.startswith(NGSI_LD):  # ProblemDetails with NGSI-LD types, as application/json
        content = {"application/json": problem}
        errors = ERRORS | NGSI_LD_ERRORS
    elif path.startswith("/api/"):
        content = {PROBLEM_JSON: problem}
    else:  # the DCAT faces answer a browser's error with the error page
        content = {PROBLEM_JSON: problem, "text/html": {"schema": {"type": "string"}}}
    out = {}
    for code, text in errors.items():
        if code in ("413", "415") and method not in WITH_BODY:
            continue
        out[code] = {"description": text, "content": content}
    return out


def document(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document of ``app`` with every answer described."""
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    paths: dict[str, Any] = {}
    for path, item in schema.get("paths", {}).items():
        if not path.startswith(MACHINE_FACES):
            continue  # an HTML page; its JSON twin is documented
        for method, op in item.items():
            responses = op.setdefault("responses", {})
            responses.update(_errors(path, method))
            media = next((m for pattern, m in MEDIA if re.search(pattern, path)), None)
            if media is not None:
                for code, answer in responses.items():
                    if code.startswith("2") and code != "204":
                        content = answer.get("content") or {}
                        body: dict[str, Any] = next(iter(content.values()), {"schema": {}})
                        answer["content"] = {m: body for m in media}
        paths[path] = item
    schema["paths"] = paths
    schemas = schema["components"]["schemas"]
    for name in ("HTTPValidationError", "ValidationError"):  # replaced by Problem
        if not _referenced(paths, name):
            schemas.pop(name, None)
    return schema


def _referenced(paths: dict[str, Any], name: str) -> bool:
    return f"#/components/schemas/{name}" in str(paths)


def install_openapi(app: FastAPI) -> None:
    """Serve ``document(app)`` (built once) as the app's OpenAPI document."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
