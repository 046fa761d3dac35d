"""Opaque keyset cursors: the last row's sort value and row identity, signed and bound to
the query they came from, so a cursor cannot be forged or replayed against another sort."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from datatorg.access import query
from datatorg.settings import Settings


def plain(value: Any) -> Any:
    """A JSON-able form of an engine value."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


_PLAIN_TYPES = ("TIMESTAMP", "DATE", "TIME", "DECIMAL", "BLOB", "INTERVAL", "UUID")


def plain_rows(types: list[str], rows: list[list[Any]]) -> list[list[Any]]:
    """``rows`` made JSON-able in place, touching only the columns whose engine type needs it
    (timestamps, dates, decimals, blobs); numbers, text and booleans pass as they are."""
    convert = [i for i, t in enumerate(types) if t.upper().startswith(_PLAIN_TYPES)]
    if not convert:
        return rows
    for row in rows:
        for i in convert:
            row[i] = plain(row[i])
    return rows


def _sign(settings: Settings, payload: bytes) -> str:
    key = settings.secret_key.get_secret_value().encode()
    return hmac.new(key, b"cursor:" + payload, hashlib.sha256).hexdigest()[:24]


def encode(settings: Settings, ctx: str, value: Any, fname: str, rownum: int) -> str:
    payload = json.dumps([ctx, plain(value), fname, rownum], separators=(",", ":")).encode()
    body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    return f"{body}.{_sign(settings, payload)}"


def decoder(settings: Settings, ctx: str, schema: dict[str, Any], sort: str | None) -> Any:
    def decode(raw: str) -> list[Any]:
        body, _, sig = raw.partition(".")
        try:
            payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except ValueError:
            raise query.bad("_next", "not a cursor from this API") from None
        if not hmac.compare_digest(sig, _sign(settings, payload)):
            raise query.bad("_next", "not a cursor from this API")
        got_ctx, value, fname, rownum = json.loads(payload)
        if got_ctx != ctx:
            raise query.bad("_next", "the cursor belongs to another query")
        if value is not None and sort is not None:
            value = query.coerce(
                "_next", {f["name"]: f for f in schema.get("fields", [])}[sort], str(value)
            )
        return [value, fname, rownum]

    return decode
