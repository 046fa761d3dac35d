"""One error vocabulary for every domain.

Domains raise these; ``datatorg.web.errorhandlers`` renders them as RFC 9457
``application/problem+json`` under ``/api`` and as a friendly page everywhere else::

    DatatorgError                 500  internal
    ├── BadRequest                400  bad-request
    ├── Unauthenticated           401  unauthenticated
    ├── Forbidden                 403  forbidden
    ├── NotFound                  404  not-found
    ├── MethodNotAllowed          405  method-not-allowed (carries ``allow``)
    ├── Conflict                  409  conflict
    ├── PayloadTooLarge           413  payload-too-large
    ├── Invalid                   422  invalid   (carries ``errors``: where and what)
    ├── TooManyRequests           429  too-many-requests (carries ``retry_after``)
    └── ServiceUnavailable        503  unavailable (busy or over its time budget; ``retry_after``)

Messages must never contain personal data (DESIGN.md, invariant 4).
"""

from __future__ import annotations

from typing import Any, ClassVar


class DatatorgError(Exception):
    """Base of every error a domain raises on purpose."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal"
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra: dict[str, Any] = extra

    def problem(self, *, instance: str | None = None) -> dict[str, Any]:
        """The RFC 9457 problem document for this error."""
        body: dict[str, Any] = {
            "type": f"https://datatorg.halden.kommune.no/problems/{self.slug}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body

    def headers(self) -> dict[str, str]:
        """Extra response headers this error asks for."""
        return {}


class BadRequest(DatatorgError):
    status = 400
    slug = "bad-request"
    title = "Bad request"


class Unauthenticated(DatatorgError):
    status = 401
    slug = "unauthenticated"
    title = "Authentication required"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="datatorg"'}


class Forbidden(DatatorgError):
    status = 403
    slug = "forbidden"
    title = "Forbidden"


class NotFound(DatatorgError):
    status = 404
    slug = "not-found"
    title = "Not found"


class MethodNotAllowed(DatatorgError):
    """The path exists but does not take this method (``allow``: the methods it takes)."""

    status = 405
    slug = "method-not-allowed"
    title = "Method not allowed"

    def __init__(self, detail: str | None = None, *, allow: str = "", **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.allow = allow

    def headers(self) -> dict[str, str]:
        return {"Allow": self.allow} if self.allow else {}


class Conflict(DatatorgError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class PayloadTooLarge(DatatorgError):
    status = 413
    slug = "payload-too-large"
    title = "Payload too large"


class Invalid(DatatorgError):
    """Input that parsed but does not make sense; ``errors`` lists each problem."""

    status = 422
    slug = "invalid"
    title = "Invalid input"

    def __init__(
        self, detail: str | None = None, *, errors: list[dict[str, Any]] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail, errors=errors or [], **extra)


class TooManyRequests(DatatorgError):
    status = 429
    slug = "too-many-requests"
    title = "Too many requests"

    def __init__(self, detail: str | None = None, *, retry_after: int = 60, **extra: Any) -> None:
        super().__init__(detail, retry_after=retry_after, **extra)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class ServiceUnavailable(DatatorgError):
    """The service cannot answer now (busy writing, or the work ran past its time budget);
    the same request may succeed later."""

    status = 503
    slug = "unavailable"
    title = "Service unavailable"

    def __init__(self, detail: str | None = None, *, retry_after: int = 5, **extra: Any) -> None:
        super().__init__(detail, retry_after=retry_after, **extra)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}
