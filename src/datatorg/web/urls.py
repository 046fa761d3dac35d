"""Absolute links: the site's public address, from ``DATATORG_BASE_URL`` or the request.

Exports, API examples and catalog IRIs need absolute URLs. When ``DATATORG_BASE_URL`` is set
(production: the address people use, behind the reverse proxy) it is used; otherwise the
address the request came to (``ShellMiddleware`` notes it for the request), so a demo served
on another host or port links to itself. Distributions the platform serves itself are stored
as site paths (``/api/v1/datasets/…/download.csv``) and made absolute where they leave.
"""

from __future__ import annotations

import contextvars

from starlette.requests import Request

from datatorg.settings import FALLBACK_BASE_URL, Settings

# (configured base URL, the request's own base URL) for the request being served
_base_var: contextvars.ContextVar[str] = contextvars.ContextVar("public_base", default="")


def set_request_base(settings: Settings, request_base: str) -> contextvars.Token[str]:
    """Note the public address for the request being served (the middleware calls this)."""
    return _base_var.set(settings.public_base(request_base))


def reset_request_base(token: contextvars.Token[str]) -> None:
    _base_var.reset(token)


def current_base() -> str:
    """The public address for the request being served (outside a request: the fallback)."""
    return _base_var.get() or FALLBACK_BASE_URL


def base_for(settings: Settings) -> str:
    """The public address for links made with ``settings`` (mails, receipts): the configured
    one, else the address of the request being served, else the fallback."""
    return settings.public_base(_base_var.get() or None)


def public_base(request: Request) -> str:
    """The site's public address without a trailing slash."""
    settings: Settings = request.app.state.settings
    return settings.public_base(str(request.base_url))


def absolute(url: str, base: str | None = None) -> str:
    """``url`` as an absolute address: site paths (``/api/…``) get the public address first."""
    if url.startswith("/") and not url.startswith("//"):
        return (base or current_base()).rstrip("/") + url
    return url
