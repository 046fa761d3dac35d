"""NGSI-LD errors (ETSI GS CIM 009, clause 5.5.2): ProblemDetails with the NGSI-LD types.

Everything under ``/ngsi-ld/`` answers errors in this shape (``face``, registered with
``web.errorhandlers.register_error_face``), the platform's own errors included: a 404 is a
``ResourceNotFound``, a 409 an ``AlreadyExists``, and so on.
"""

from __future__ import annotations

from typing import Any, ClassVar

from fastapi import Request
from starlette.responses import JSONResponse, Response

from datatorg import errors

BASE = "https://uri.etsi.org/ngsi-ld/errors/"


class NgsiError(errors.DatatorgError):
    """An error with an NGSI-LD problem type."""

    ngsi_type: ClassVar[str] = "InternalError"


class BadRequestData(NgsiError):
    status = 400
    title = "Bad request data"
    ngsi_type = "BadRequestData"


class InvalidRequest(NgsiError):
    status = 400
    title = "Invalid request"
    ngsi_type = "InvalidRequest"


class ResourceNotFound(NgsiError):
    status = 404
    title = "Resource not found"
    ngsi_type = "ResourceNotFound"


class AlreadyExists(NgsiError):
    status = 409
    title = "Already exists"
    ngsi_type = "AlreadyExists"


class NotAcceptable(NgsiError):
    status = 406
    title = "Not acceptable"
    ngsi_type = "NotAcceptable"


class UnsupportedMediaType(NgsiError):
    status = 415
    title = "Unsupported media type"
    ngsi_type = "UnsupportedMediaType"


class OperationNotSupported(NgsiError):
    status = 422
    title = "Operation not supported"
    ngsi_type = "OperationNotSupported"


class TooManyResults(NgsiError):
    status = 403
    title = "Too many results"
    ngsi_type = "TooManyResults"


class LdContextNotAvailable(NgsiError):
    status = 503
    title = "LD context not available"
    ngsi_type = "LdContextNotAvailable"


# The platform's errors in NGSI-LD terms (those without one keep the platform's type).
_BY_STATUS = {
    400: "BadRequestData",
    404: "ResourceNotFound",
    405: "OperationNotSupported",  # a route that does not take the method (Allow says which)
    409: "AlreadyExists",
    413: "BadRequestData",
    422: "BadRequestData",
    500: "InternalError",
}


def problem(exc: errors.DatatorgError, instance: str | None = None) -> dict[str, Any]:
    """The ProblemDetails of ``exc``."""
    body = exc.problem(instance=instance)
    name = exc.ngsi_type if isinstance(exc, NgsiError) else _BY_STATUS.get(exc.status)
    if name:
        body["type"] = BASE + name
    if exc.status >= 500 and not isinstance(exc, NgsiError):
        body["detail"] = "An unexpected error occurred"
    return body


def face(request: Request, exc: errors.DatatorgError) -> Response:
    """Render ``exc`` for an NGSI-LD route."""
    status = 400 if exc.status == 422 and not isinstance(exc, NgsiError) else exc.status
    return JSONResponse(
        problem(exc, instance=request.url.path),
        status_code=status,
        media_type="application/json",
        headers=exc.headers(),
    )
