"""KPIs computed from datasets: a saved aggregate query, re-run through the gate.

The query is written in the gate's URL language (``docs/data.md``) and limited to one
aggregate: exactly one ``_agg``, filters, an optional ``_bucket`` (one value per day, week
or month) and an optional ``_search``. Without a bucket a run gives one value for the day
it runs; with one, a value for each period. Each run reads as the KPI's owner (``run_as``),
under the pilot's agreement for the dataset when the dataset is not open, and states the
pilot's purpose. A run that the gate refuses is kept on the KPI as its last error.
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import replace
from datetime import date, datetime, timedelta
from urllib.parse import parse_qsl

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from datatorg.catalog.models import Dataset
from datatorg.db.base import utcnow
from datatorg.errors import DatatorgError, Invalid
from datatorg.identity import service as identity
from datatorg.identity.actor import Actor
from datatorg.identity.models import User
from datatorg.market import policies as market_policies
from datatorg.market import service as market
from datatorg.market.models import AccessRequest, Agreement
from datatorg.pilots.gateway import read_aggregate
from datatorg.pilots.models import (
    Kpi,
    KpiSource,
    Measurement,
    Pilot,
    PilotDataRequest,
    PilotState,
    Schedule,
)
from datatorg.pilots.vocab import N_
from datatorg.settings import Settings
from datatorg.web.i18n import gettext as _

ALLOWED_CONTROL = {"_agg", "_bucket", "_search"}
FILTER_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}(__[a-z]{2,10})?$")
BUCKET = re.compile(r"^(day|week|month)(:[A-Za-z_][A-Za-z0-9_]{0,62})?$")
MAX_FIELDS = 30
INTERVAL = {Schedule.daily: timedelta(days=1), Schedule.weekly: timedelta(days=7)}

# What a failed run says, in the reader's language (stored as msgids, translated when shown).
E_REFUSED = N_("The gate refused the read: no agreement in force covers it for this pilot.")
E_QUOTA = N_("The agreement's quota is used up; the next run will try again.")
E_QUERY = N_("The saved query does not fit the dataset: check its columns and filters.")
E_GONE = N_("The dataset or the person the KPI reads as is gone.")
E_EMPTY = N_("The query gave no value.")


def _bad(message: str) -> Invalid:
    return Invalid(message, errors=[{"field": "query", "message": message}])


def parse_query(query: str) -> list[tuple[str, str]]:
    """The saved query as (key, value) pairs, refused unless it is one plain aggregate."""
    text = query.strip().lstrip("?")
    if not text:
        raise _bad(_("Write the query, e.g. _agg=sum(kwh)&_bucket=month"))
    try:
        items = parse_qsl(
            text, keep_blank_values=True, strict_parsing=True, max_num_fields=MAX_FIELDS
        )
    except ValueError:
        raise _bad(_("The query is not in the form key=value&key=value.")) from None
    aggs = [v for k, v in items if k == "_agg"]
    if len(aggs) != 1 or "," in aggs[0]:
        raise _bad(_("The query needs exactly one _agg, e.g. _agg=avg(kwh)."))
    for key, value in items:
        if key.startswith("_"):
            if key not in ALLOWED_CONTROL:
                raise _bad(_("{key} cannot be used in a KPI query.").format(key=key[:30]))
            if key == "_bucket" and not BUCKET.match(value):
                raise _bad(_("_bucket is day, week or month (optionally :column)."))
        elif not FILTER_KEY.match(key):
            raise _bad(_("{key} is not a column filter.").format(key=key[:30]))
    if sum(1 for k, _v in items if k == "_bucket") > 1:
        raise _bad(_("Give at most one _bucket."))
    return items


def _as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def agreement_for(
    session: Session, pilot: Pilot, dataset_id: uuid.UUID, actor: Actor, now: datetime
) -> uuid.UUID | None:
    """The pilot's agreement in force on ``dataset_id`` that ``actor`` may read under."""
    rows = session.scalars(
        select(Agreement)
        .join(AccessRequest, AccessRequest.agreement_id == Agreement.id)
        .join(PilotDataRequest, PilotDataRequest.access_request_id == AccessRequest.id)
        .where(
            PilotDataRequest.pilot_id == pilot.id,
            Agreement.dataset_id == dataset_id,
            Agreement.valid_from <= now,
            Agreement.valid_until > now,
        )
        .order_by(Agreement.valid_until.desc())
    ).all()
    for a in rows:
        if market.effective_state(a, now) == "active" and market_policies.is_assignee(
            actor, a.assignee_user_id, a.assignee_org_id
        ):
            return a.id
    return None


def evaluate(
    *,
    session: Session,
    settings: Settings,
    pilot: Pilot,
    dataset: Dataset,
    query: str,
    run_as: User,
    today: date | None = None,
) -> list[tuple[date, float]]:
    """Run the query through the gate as ``run_as``: (period, value) pairs, oldest first."""
    items = parse_query(query)
    now = utcnow()
    actor = identity.actor_for_user(session=session, user=run_as)
    agreement = agreement_for(session, pilot, dataset.id, actor, now)
    if agreement is not None:
        actor = replace(actor, agreement_id=agreement)
    answer = read_aggregate(
        session=session,
        settings=settings,
        actor=actor,
        dataset=dataset,
        items=[*items, ("_size", "max")],
        purpose=pilot.purpose,
    )
    bucketed = any(k == "_bucket" for k, _v in items)
    out: dict[date, float] = {}
    for row in answer.rows:
        value = row[-1]
        if value is None or not math.isfinite(float(value)):
            continue  # no value for this period (or one JSON cannot carry)
        period = (
            _as_date(row[answer.columns.index("bucket")]) if bucketed else (today or now.date())
        )
        out[period] = round(float(value), 6)
    return sorted(out.items())


def store(session: Session, kpi: Kpi, values: list[tuple[date, float]]) -> int:
    """Upsert computed values by period; returns how many periods were written."""
    if not values:
        return 0
    existing = {
        m.period: m
        for m in session.scalars(
            select(Measurement).where(
                Measurement.kpi_id == kpi.id,
                Measurement.computed.is_(True),
                Measurement.period.in_([p for p, _v in values]),
            )
        )
    }
    now = utcnow()
    for period, value in values:
        found = existing.get(period)
        if found is None:
            session.add(
                Measurement(
                    kpi_id=kpi.id, period=period, value=value, computed=True, recorded_at=now
                )
            )
        else:
            found.value, found.recorded_at = value, now
    session.flush()
    return len(values)


def error_message(exc: DatatorgError) -> str:
    """A failed run in plain words (a msgid; see ``E_*``)."""
    if exc.status == 429:
        return E_QUOTA
    if exc.status == 422:
        return E_QUERY
    if exc.status == 404:
        return E_GONE
    return E_REFUSED


def compute(*, session: Session, settings: Settings, kpi: Kpi) -> int:
    """Re-run a dataset KPI now; the values (or the error) are kept on it."""
    pilot = session.get(Pilot, kpi.pilot_id)
    dataset = session.get(Dataset, kpi.dataset_id) if kpi.dataset_id else None
    user = session.get(User, kpi.run_as) if kpi.run_as else None
    written = 0
    error = ""
    if kpi.source != KpiSource.dataset:
        raise Invalid(_("This KPI is entered by hand."))
    if pilot is None or dataset is None or user is None or not user.is_active:
        error = E_GONE
    else:
        try:
            values = evaluate(
                session=session,
                settings=settings,
                pilot=pilot,
                dataset=dataset,
                query=kpi.query,
                run_as=user,
            )
        except DatatorgError as exc:  # the gate has recorded its refusal already
            error = error_message(exc)
        else:
            written = store(session, kpi, values)
            if not values:
                error = E_EMPTY
    kpi.last_run_at = utcnow()
    kpi.last_ok = error == ""
    kpi.last_error = error
    session.flush()
    return written


def due(*, session: Session, now: datetime | None = None) -> list[Kpi]:
    """Scheduled dataset KPIs of running pilots whose interval has passed."""
    now = now or utcnow()
    rows = session.scalars(
        select(Kpi)
        .join(Pilot, Pilot.id == Kpi.pilot_id)
        .where(
            Kpi.source == KpiSource.dataset,
            Kpi.schedule.in_([Schedule.daily, Schedule.weekly]),
            Pilot.state == PilotState.running,
            or_(Kpi.last_run_at.is_(None), Kpi.last_run_at <= now - timedelta(hours=1)),
        )
        .order_by(Kpi.last_run_at.asc().nulls_first(), Kpi.id)
    ).all()
    # "daily" means at most once in 23 hours, so a cron job at a fixed hour never skips a day.
    slack = timedelta(hours=1)
    return [
        k
        for k in rows
        if k.last_run_at is None or k.last_run_at <= now - INTERVAL[k.schedule] + slack
    ]


def run_due(*, session: Session, settings: Settings, now: datetime | None = None) -> list[Kpi]:
    """Compute every due KPI, committing after each; returns the KPIs run."""
    ran = []
    for kpi in due(session=session, now=now):
        compute(session=session, settings=settings, kpi=kpi)
        session.commit()
        ran.append(kpi)
    return ran
