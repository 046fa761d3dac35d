"""CKAN ``package_search`` parameters → a catalog ``SearchQuery``.

Understands the Solr filter subset CKAN clients send: ``organization:``, ``tags:``,
``res_format:``, ``groups:``, ``license_id:``, ``metadata_modified:[A TO B]`` (ISO times,
``*`` or ``NOW``), values quoted or ``(a OR b)``, clauses joined by spaces or ``AND``.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from datatorg.catalog.finder import SearchQuery

MAX_ROWS = 1000
DEFAULT_ROWS = 10
FQ_FIELDS = {
    "organization": "publisher",
    "tags": "keyword",
    "res_format": "format",
    "groups": "theme",
    "license_id": "license",
}
IGNORED = {"dataset_type": {"dataset"}, "type": {"dataset"}, "state": {"active"}}
FACET_FIELDS = {"organization", "tags", "res_format", "groups", "license_id"}
DEFAULT_FACETS = ["organization", "groups", "tags", "res_format", "license_id"]
SORTS = {
    "score desc": "relevance",
    "title_string asc": "title",
    "title_string desc": "-title",
    "name asc": "title",
    "name desc": "-title",
    "metadata_modified desc": "modified",
    "metadata_created desc": "published",
}
CLAUSE_RE = re.compile(r'\s*\+?([a-z_]+):("(?:[^"\\]|\\.)*"|\[[^\]]*\]|\([^)]*\)|[^\s()]+)\s*')


class SearchQueryError(Exception):
    """A query CKAN would refuse with a "Search Query Error" (HTTP 400)."""


class ValidationError(Exception):
    """Bad parameters: CKAN's "Validation Error" (HTTP 409) with a field → messages dict."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def _int(data: dict[str, Any], key: str, default: int) -> int:
    raw = data.get(key, default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ValidationError({key: ["Invalid integer"]}) from None
    if value < 0:
        raise ValidationError({key: ["Must be a natural number"]})
    return value


def _when(text: str, *, end: bool) -> datetime | None:
    text = text.strip()
    if text in ("*", ""):
        return None
    if text.upper().startswith("NOW"):
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SearchQueryError(f"Invalid date in metadata_modified: {text[:40]!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _values(raw: str) -> list[str]:
    if raw.startswith('"'):
        return [raw[1:-1].replace('\\"', '"')]
    if raw.startswith("("):
        parts = re.split(r"\s+OR\s+", raw[1:-1].strip())
        return [p.strip().strip('"') for p in parts if p.strip()]
    return [raw]


def parse_fq(fq: str, query: SearchQuery) -> None:
    """Add the filters in ``fq`` to ``query``."""
    rest = fq.strip()
    while rest:
        if rest.startswith("AND "):
            rest = rest[4:].lstrip()
            continue
        m = CLAUSE_RE.match(rest)
        if m is None:
            raise SearchQueryError(f"Cannot parse fq near {rest[:40]!r}")
        field, raw = m.group(1), m.group(2)
        rest = rest[m.end() :]
        if field == "metadata_modified":
            if not raw.startswith("["):
                raise SearchQueryError("metadata_modified needs a range [A TO B]")
            low, sep, high = raw[1:-1].partition(" TO ")
            if not sep:
                raise SearchQueryError("metadata_modified needs a range [A TO B]")
            query.modified_from = _when(low, end=False)
            query.modified_to = _when(high, end=True)
        elif field in FQ_FIELDS:
            values = _values(raw)
            if field == "groups":
                values = [v.upper() for v in values]
            query.filters.setdefault(FQ_FIELDS[field], []).extend(values)
        elif field in IGNORED and _values(raw)[0] in IGNORED[field]:
            continue
        else:
            raise SearchQueryError(f"Unsupported field in fq: {field}")


def facet_fields(data: dict[str, Any]) -> list[str]:
    raw = data.get("facet.field")
    if raw is None:
        return list(DEFAULT_FACETS)
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError):
            raise ValidationError({"facet.field": ["Not a JSON list"]}) from None
    if not isinstance(raw, list) or not all(isinstance(f, str) for f in raw):
        raise ValidationError({"facet.field": ["Not a list"]})
    return [f for f in raw if f in FACET_FIELDS]


def search_query(data: dict[str, Any]) -> tuple[SearchQuery, list[str]]:
    """The catalog query for CKAN ``package_search`` parameters, and the facets asked for."""
    rows = min(_int(data, "rows", DEFAULT_ROWS), MAX_ROWS)  # CKAN caps silently
    start = _int(data, "start", 0)
    q = str(data.get("q", "") or "")
    if q.strip() in ("*:*", "*"):
        q = ""
    sort_raw = str(data.get("sort", "") or "score desc, metadata_modified desc")
    first = sort_raw.split(",")[0].strip().lower()
    if first not in SORTS:
        raise SearchQueryError(f"Unsupported sort: {first[:40]}")
    query = SearchQuery(
        q=q[:300],
        sort=SORTS[first],
        offset=start,
        limit=rows,
        relations=("themes", "keywords", "distributions"),  # package dicts show them
    )
    fq = data.get("fq", "")
    if fq:
        parse_fq(str(fq), query)
    for key in data.get("fq_list", []) or []:
        parse_fq(str(key), query)
    return query, facet_fields(data)
