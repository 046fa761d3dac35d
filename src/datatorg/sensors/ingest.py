"""Observations as they arrive: parsing and checking JSON and CSV batches and MQTT payloads.

Pure functions: nothing here touches the database. A good observation becomes an
``Observation``; a bad one a ``Problem`` that names its place (index or CSV line) and field.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

MAX_OBSERVATIONS = 10_000
MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_TEXT = 1000
MAX_ID = 256
MAX_PROBLEMS = 20
FUTURE_SLACK = timedelta(days=1)
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`\x00-\x1f\x7f]+$")
_DEVICE = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")
ID_KEYS = ("entityId", "id")
TIME_KEYS = ("observedAt", "dateObserved")
RESERVED = {"entityId", "id", "observedAt", "dateObserved", "type", "latitude", "longitude"}


@dataclass(frozen=True)
class Attribute:
    """A measured attribute of a stream: one column of its dataset."""

    name: str
    iri: str
    type: str  # number, integer, string, boolean
    unit: str = ""


@dataclass(frozen=True)
class StreamSpec:
    """What parsing needs to know about a stream."""

    type_name: str
    attributes: dict[str, Attribute]


@dataclass
class Observation:
    entity_id: str
    observed_at: datetime  # timezone-aware, UTC
    values: dict[str, Any]  # attribute name -> value (None: not measured)
    latitude: float | None = None
    longitude: float | None = None
    index: int = 0  # place in the batch (0-based) or MQTT message number


@dataclass
class Problem:
    index: int
    message: str
    field: str = ""

    def as_dict(self, place: str = "index") -> dict[str, Any]:
        out: dict[str, Any] = {place: self.index, "message": self.message}
        if self.field:
            out["field"] = self.field
        return out


class BatchTooLarge(Exception):
    """More observations, or more bytes, than one request may carry."""


class Unreadable(Exception):
    """The body is not JSON / CSV at all (nothing could be read from it)."""


@dataclass
class Parsed:
    observations: list[Observation] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    malformed: int = 0  # all problems, also those past MAX_PROBLEMS

    def problem(self, index: int, message: str, field_: str = "") -> None:
        self.malformed += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(index, message, field_))


def entity_id(raw: Any, type_name: str) -> str:
    """A full entity id: a URI as given, or a device id made ``urn:ngsi-ld:<Type>:<id>``."""
    if not isinstance(raw, str) or not raw or len(raw) > MAX_ID:
        raise ValueError("entityId must be a URI or a device id of up to 256 characters")
    if _URI.match(raw):
        return raw
    if _DEVICE.match(raw):
        return f"urn:ngsi-ld:{type_name}:{raw}"
    raise ValueError("entityId must be a URI or a device id (letters, digits, . _ -)")


def parse_time(raw: Any, now: datetime | None = None) -> datetime:
    """An ISO 8601 time; one without a zone is taken as UTC. Refuses the far future."""
    if not isinstance(raw, str) or not 10 <= len(raw) <= 40:
        raise ValueError("observedAt must be an ISO 8601 date-time such as 2026-12-01T10:00:00Z")
    try:
        value = datetime.fromisoformat(raw.replace("z", "Z"))
    except ValueError:
        raise ValueError(
            "observedAt must be an ISO 8601 date-time such as 2026-12-01T10:00:00Z"
        ) from None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    now = now or datetime.now(UTC)
    if value > now + FUTURE_SLACK:
        raise ValueError("observedAt is more than a day in the future")
    if value < EARLIEST:
        raise ValueError("observedAt is before 1990")
    return value


def coerce(attr: Attribute, raw: Any, *, text: bool = False, comma: bool = False) -> Any:
    """``raw`` as a value of ``attr``'s type (``text``: it came from CSV)."""
    if raw is None or (text and raw == ""):
        return None
    kind = attr.type
    if text:
        assert isinstance(raw, str)
        raw = raw.strip()
        if kind in ("number", "integer"):
            try:
                raw = float(raw.replace(",", ".") if comma else raw)
            except ValueError:
                raise ValueError(f"{raw[:40]!r} is not a number") from None
        elif kind == "boolean":
            low = raw.lower()
            if low not in ("true", "false", "1", "0"):
                raise ValueError(f"{raw[:40]!r} is not true or false")
            raw = low in ("true", "1")
    if kind in ("number", "integer"):
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ValueError("must be a number")
        if not math.isfinite(raw):
            raise ValueError("must be a finite number")
        if kind == "integer":
            if raw != int(raw) or abs(raw) >= 2**63:
                raise ValueError("must be a whole number")
            return int(raw)
        return float(raw)
    if kind == "boolean":
        if not isinstance(raw, bool):
            raise ValueError("must be true or false")
        return raw
    if not isinstance(raw, str):
        raise ValueError("must be text")
    if len(raw) > MAX_TEXT or "\x00" in raw:
        raise ValueError(f"text longer than {MAX_TEXT} characters or with a NUL byte")
    return raw


def _coord(raw: Any, low: float, high: float, text: bool) -> float:
    if text and isinstance(raw, str):
        try:
            raw = float(raw.replace(",", "."))
        except ValueError:
            raise ValueError("must be a number") from None
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not low <= raw <= high:
        raise ValueError(f"must be a number from {low:g} to {high:g}")
    return float(raw)


def observation(
    item: Any, index: int, spec: StreamSpec, out: Parsed, *, text: bool = False, comma: bool = False
) -> None:
    """Check one observation (a JSON object, or a CSV row as a dict) into ``out``."""
    if not isinstance(item, dict):
        out.problem(index, "an observation must be a JSON object")
        return
    raw_id = next((item[k] for k in ID_KEYS if k in item), None)
    if raw_id is None:
        out.problem(index, "entityId is missing", "entityId")
        return
    try:
        ident = entity_id(raw_id, spec.type_name)
    except ValueError as exc:
        out.problem(index, str(exc), "entityId")
        return
    raw_time = next((item[k] for k in TIME_KEYS if k in item), None)
    try:
        when = parse_time(raw_time)
    except ValueError as exc:
        out.problem(index, str(exc), "observedAt")
        return
    values: dict[str, Any] = {}
    for key, raw in item.items():
        if key in RESERVED:
            continue
        attr = spec.attributes.get(key) if isinstance(key, str) else None
        if attr is None:
            out.problem(index, f"{str(key)[:60]!r} is not an attribute of this stream", str(key))
            return
        try:
            values[key] = coerce(attr, raw, text=text, comma=comma)
        except ValueError as exc:
            out.problem(index, str(exc), key)
            return
    if all(v is None for v in values.values()):
        out.problem(index, "no attribute values")
        return
    lat = lon = None
    if item.get("latitude") not in (None, "") or item.get("longitude") not in (None, ""):
        try:
            lat = _coord(item.get("latitude"), -90, 90, text)
            lon = _coord(item.get("longitude"), -180, 180, text)
        except ValueError as exc:
            out.problem(index, f"latitude/longitude {exc}", "latitude")
            return
    out.observations.append(Observation(ident, when, values, lat, lon, index))


def parse_json(body: bytes, spec: StreamSpec) -> Parsed:
    """A JSON batch: an array of observations, or ``{"observations": [...]}``."""
    if len(body) > MAX_BODY_BYTES:
        raise BatchTooLarge(f"The body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MiB")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Unreadable(f"The body is not valid JSON (UTF-8): {str(exc)[:120]}") from None
    if isinstance(data, dict) and isinstance(data.get("observations"), list):
        data = data["observations"]
    if not isinstance(data, list):
        raise Unreadable('Send a JSON array of observations, or {"observations": [...]}')
    if len(data) > MAX_OBSERVATIONS:
        raise BatchTooLarge(f"At most {MAX_OBSERVATIONS} observations per request")
    out = Parsed()
    for i, item in enumerate(data):
        observation(item, i, spec, out)
    return out


def _decode(body: bytes) -> str:
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    if b"\x00" in body:
        raise Unreadable("The CSV has NUL bytes (UTF-16 or binary?); send UTF-8 text")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("cp1252", errors="replace")  # Windows-1252 / Latin-1 exports


def parse_csv(body: bytes, spec: StreamSpec) -> Parsed:
    """A CSV batch with a header row: ``entityId,observedAt,<attribute>…`` (``,`` or ``;``;
    with ``;`` decimal commas are numbers). Places are CSV line numbers."""
    if len(body) > MAX_BODY_BYTES:
        raise BatchTooLarge(f"The body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MiB")
    text = _decode(body)
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise Unreadable("The CSV is empty; the first line must name the columns") from None
    except csv.Error as exc:
        raise Unreadable(f"The CSV cannot be read: {exc}") from None
    header = [h.strip() for h in header]
    if len(set(header)) != len(header) or any(not h for h in header):
        raise Unreadable("The CSV header has empty or repeated column names")
    out = Parsed()
    count = 0
    try:
        for row in reader:
            if not row or row == [""]:
                continue
            count += 1
            if count > MAX_OBSERVATIONS:
                raise BatchTooLarge(f"At most {MAX_OBSERVATIONS} observations per request")
            line = reader.line_num
            if len(row) != len(header):
                out.problem(line, f"{len(row)} values for {len(header)} columns")
                continue
            observation(
                dict(zip(header, row, strict=True)),
                line,
                spec,
                out,
                text=True,
                comma=delimiter == ";",
            )
    except csv.Error as exc:
        raise Unreadable(f"The CSV cannot be read near line {reader.line_num}: {exc}") from None
    return out


def parse_message(payload: bytes, spec: StreamSpec, device: str, index: int) -> Parsed:
    """One MQTT message: an observation object (``entityId`` defaults to the topic's device)
    or an array of them."""
    out = Parsed()
    if len(payload) > 256 * 1024:
        out.problem(index, "message larger than 256 KiB")
        return out
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError:
        out.problem(index, "payload is not JSON")
        return out
    items = data if isinstance(data, list) else [data]
    if len(items) > MAX_OBSERVATIONS:
        out.problem(index, f"more than {MAX_OBSERVATIONS} observations in one message")
        return out
    for item in items:
        if isinstance(item, dict) and not any(k in item for k in ID_KEYS):
            item = {"entityId": device, **item}
        observation(item, index, spec, out)
    return out
