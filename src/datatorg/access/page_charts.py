"""The data page's charts: what to draw from a dataset's columns, read through the gate.

A value column (numeric, chosen by the reader) is drawn as its daily (or weekly) mean over the
time column, and as its mean per group of the first naming text column (bars). Titles, axis
titles and units come from the version's schema; the drawing is ``web.charts``. A text column
whose values are codes of a label registry kind (``x-labels`` in its schema field, e.g. a
sensor's ``status``) is grouped by the codes and labelled with their words.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from datatorg.access.engines import Page
from datatorg.catalog.models import DatasetRef
from datatorg.lake import service as lake
from datatorg.web import charts, formatting, labels
from datatorg.web.i18n import gettext as _

MAX_DAILY_POINTS = 400  # longer series are drawn as weekly means
MAX_BARS = 20


def numeric_columns(schema: dict[str, Any], visible: list[str]) -> list[str]:
    return [
        f["name"]
        for f in schema.get("fields", [])
        if f["name"] in visible
        and f["type"] in ("integer", "number")
        and f.get("role") not in ("latitude", "longitude")
    ]


def _titled(field: dict[str, Any]) -> str:
    """A column's title with its unit: "Nitrogendioksid (NO₂) (µg/m³)"."""
    name = field.get("title") or field["name"]
    return f"{name} ({field['unit']})" if field.get("unit") else name


def _group_column(schema: dict[str, Any], visible: list[str]) -> dict[str, Any] | None:
    """The text column to group bars by: one that names things rather than codes them."""
    texts = [
        f
        for f in schema.get("fields", [])
        if f["name"] in visible and f["type"] == "string" and not f.get("role")
    ]
    names = [f for f in texts if not f["name"].lower().endswith(("id", "_id", "kode", "nr"))]
    found: dict[str, Any] | None = (names or texts or [None])[0]
    return found


def api_url(ds: DatasetRef, items: list[tuple[str, str]]) -> str:
    base = f"/api/v1/datasets/{ds.slug}/rows"
    return base + ("?" + urlencode(items) if items else "")


def chart_data(
    run: Callable[[list[tuple[str, str]]], Page],
    ds: DatasetRef,
    schema: dict[str, Any],
    visible: list[str],
    y: str | None,
    carry: list[tuple[str, str]],
) -> list[dict[str, Any]]:
    """The charts of the page (title, SVG, the figures for the table, the API link). ``run``
    answers one query of the page's read (its decision, policy and audit record); ``schema``
    and ``visible`` are as the reader sees them; ``carry`` goes into the API links (the
    chosen agreement)."""
    numeric = numeric_columns(schema, visible)
    if not numeric:
        return []
    schema = lake.localized(schema)  # titles in the page's language
    fields = lake.fields_by_name(schema)
    col = y if y in numeric else numeric[0]
    value = fields[col]
    value_title = _titled(value)
    digits = 0 if value["type"] == "integer" else 1
    out: list[dict[str, Any]] = []
    times = [c for c in lake.columns_with_role(schema, "time") if c in visible]
    if times:
        bucket = "day"
        agg = [("_bucket", f"day:{times[0]}"), ("_agg", f"avg({col})")]
        page = run([*agg, ("_size", "2000")])
        if len(page.rows) > MAX_DAILY_POINTS:  # long series: weekly means are easier to read
            bucket = "week"
            agg = [("_bucket", f"week:{times[0]}"), ("_agg", f"avg({col})")]
            page = run([*agg, ("_size", "2000")])
        points = [(r[0], r[1]) for r in page.rows]
        per = _("Average per day") if bucket == "day" else _("Average per week")
        title = f"{value.get('title') or col}: {per.lower()}"
        out.append(
            {
                "title": title,
                "svg": charts.line_chart(
                    points,
                    title=title,
                    x_title=_("Day") if bucket == "day" else _("Week"),
                    y_title=value_title,
                    ident="chart-time",
                ),
                # the table beside the chart names its days the reader's way ("1. jan. 2024")
                "rows": [(formatting.day(str(p[0])[:10]), p[1]) for p in points],
                "x_title": _("Day") if bucket == "day" else _("Week starting"),
                "y_title": value_title,
                "digits": digits + 1,
                "api": api_url(ds, agg + carry),
            }
        )
    group = _group_column(schema, visible)
    if group is not None:
        agg = [("_group_by", group["name"]), ("_agg", f"avg({col})")]
        page = run([*agg, ("_sort_desc", f"avg_{col}"), ("_size", str(MAX_BARS))])
        kind = group.get("x-labels")
        bars = [
            (labels.label(kind, r[0]) if kind and r[0] is not None else str(r[0]), r[1])
            for r in page.rows
        ]
        group_title = group.get("title") or group["name"]
        title = _("%(value)s: average per %(group)s") % {
            "value": value.get("title") or col,
            "group": group_title.lower(),
        }
        out.append(
            {
                "title": title,
                "svg": charts.bar_chart(
                    bars,
                    title=title,
                    value_title=_("Average, %(what)s") % {"what": value_title},
                    ident="chart-bars",
                    digits=digits + 1 if digits == 0 else digits,
                ),
                "rows": bars,
                "x_title": group_title,
                "y_title": value_title,
                "digits": digits + 1,
                "api": api_url(ds, agg + carry),
            }
        )
    return out
