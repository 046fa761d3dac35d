"""How the rows API writes a page: Datasette's ``_shape`` (and ``_nl``) on the gate's answer.

The page is read, decided, capped and audited the same whatever its shape; this module only
writes it. ``arrays`` (the default) is ``{"columns", "rows": [[…]], "truncated", "next",
"next_url", "version"[, "count"]}``; ``objects`` is the same with each row an object;
``array`` is a bare list of row objects (newline-delimited JSON with ``_nl=on``); ``object``
is an object of row objects keyed by the dataset's unique key column. The next page, when
there is one, is also in a ``Link: <…>; rel="next"`` header, which is the only place the
bare shapes can carry it.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from datatorg.access.service import Page
from datatorg.web.responses import FastJSONResponse

NDJSON = "application/x-ndjson"


def shaped(page: Page, body: dict[str, Any]) -> Response:
    """The response for ``page``, whose default (``arrays``) body is ``body``."""
    headers = {"Link": f'<{body["next_url"]}>; rel="next"'} if body.get("next_url") else {}
    if page.shape == "arrays":
        return FastJSONResponse(body, headers=headers)
    objects = [dict(zip(page.columns, row, strict=True)) for row in page.rows]
    if page.shape == "objects":
        return FastJSONResponse(body | {"rows": objects}, headers=headers)
    if page.shape == "array" and page.nl:
        lines = b"".join(orjson.dumps(o) + b"\n" for o in objects)
        return Response(lines, media_type=NDJSON, headers=headers)
    if page.shape == "array":
        return FastJSONResponse(objects, headers=headers)
    key = page.key
    if key is None:  # query.parse sets it for _shape=object, or refuses the read
        raise ValueError("_shape=object without a key column")
    return FastJSONResponse({str(o[key]): o for o in objects}, headers=headers)
