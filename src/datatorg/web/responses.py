"""Response classes shared by the faces."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse


class FastJSONResponse(JSONResponse):
    """JSON rendered by orjson: several times faster than the standard library on row pages.

    Differences from ``JSONResponse``: NaN and infinities become ``null`` (the standard
    renderer refuses them with an error), and dates/times are written as RFC 3339 text.
    """

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)
