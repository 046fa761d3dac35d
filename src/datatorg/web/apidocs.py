"""The API documentation, served by the site itself: Swagger UI from the ``fastapi-offline``
package's files (no CDN: production has no internet, and the site's CSP allows only its own
scripts), started by our own script (the CSP forbids inline code)."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from datatorg.web.templating import render

ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSETS_URL = "/static/apidocs"

router = APIRouter(include_in_schema=False)


def assets() -> StaticFiles:
    """Swagger UI's script and stylesheet, mounted at ``ASSETS_URL``."""
    return StaticFiles(directory=ASSETS)


@router.get("/api/v1/docs")  # declared ANYONE where the app includes it (web is below identity)
def api_docs(request: Request) -> Response:
    """Interactive documentation of the JSON API (its twin: ``/api/v1/openapi.json``)."""
    return render(request, "apidocs.html", {"assets": ASSETS_URL})
