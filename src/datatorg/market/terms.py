"""Checking what people ask for against an offer and against the dataset's real columns.

Every problem names its field, a stable ``code`` (pages say it in words: the label registry's
``form_error`` kind), ``params`` for those words, and an English ``message`` for API clients.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from datatorg.catalog.models import Dataset
from datatorg.lake import service as lake
from datatorg.market.models import Offer

MAX_START_AHEAD_DAYS = 366
# Columns nobody outside the owner reads (the gate hides them), so no offer names them.
HIDDEN_ROLES = ("subject_key", "direct_identifier")


@dataclass(frozen=True)
class Column:
    """A column a consumer can be offered: its name, title (in the page's language where the
    schema has both), type, unit, role."""

    name: str
    title: str = ""
    type: str = ""
    unit: str = ""
    role: str = ""


def problem(field: str, code: str, message: str, **params: Any) -> dict[str, Any]:
    """One input problem: the field, a stable code, English for APIs, words' parameters."""
    out: dict[str, Any] = {"field": field, "code": code, "message": message}
    if params:
        out["params"] = params
    return out


def dataset_columns(*, session: Session, dataset: Dataset) -> list[Column] | None:
    """The columns of the dataset's current version that consumers can be offered.

    The current version's schema decides; before the first upload, the columns the catalog
    describes (its column list is kept in step with each version). None when neither knows
    any column: there is nothing to choose from.
    """
    head = lake.head(session=session, dataset_id=dataset.id)
    if head is None:
        described = [
            Column(name=f.name, title=f.title, type=f.type, unit=f.unit)
            for f in dataset.fields
            if f.data_category not in ("identifier", "pseudonym")
        ]
        return described or None
    return [
        Column(
            name=f["name"],
            title=f.get("title", ""),
            type=f.get("type", ""),
            unit=f.get("unit", ""),
            role=f.get("role", ""),
        )
        for f in lake.localized(head.table_schema).get("fields", [])  # titles as pages show
        if f.get("role") not in HIDDEN_ROLES
    ]


def column_names(*, session: Session, dataset: Dataset) -> list[str] | None:
    found = dataset_columns(session=session, dataset=dataset)
    return None if found is None else [c.name for c in found]


def unknown_columns(wanted: list[str] | None, known: list[str] | None) -> list[str]:
    """The names in ``wanted`` that ``known`` lacks (none when either is "all"/unknown)."""
    if wanted is None or known is None:
        return []
    return sorted(set(wanted) - set(known))


def check_request(
    offer: Offer,
    purpose: str,
    start: date,
    end: date,
    columns: list[str] | None,
    today: date,
    dataset_columns: list[str] | None,
) -> list[dict[str, Any]]:
    """What is wrong with a request under ``offer`` (empty when it fits)."""
    problems = []
    if purpose not in offer.purposes:
        problems.append(
            problem("purpose", "purpose_not_offered", "the offer does not allow this purpose")
        )
    if end <= start:
        problems.append(problem("period_end", "period_end_before_start", "must be after the start"))
    elif (end - start).days > offer.max_period_days:
        days = offer.max_period_days
        problems.append(problem("period_end", "period_too_long", f"at most {days} days", days=days))
    if start < today:
        problems.append(problem("period_start", "period_start_past", "must not be in the past"))
    if start > today + timedelta(days=MAX_START_AHEAD_DAYS):
        problems.append(problem("period_start", "period_start_too_far", "at most a year ahead"))
    if columns is not None:
        allowed = offer.columns if offer.columns is not None else dataset_columns
        extra = unknown_columns(columns, allowed)
        if extra:
            shown = ", ".join(extra[:10])
            problems.append(
                problem("columns", "columns_not_offered", "not offered: " + shown, columns=shown)
            )
    return problems
