"""Metering: calls, rows and bytes per agreement per UTC day; quotas and monthly statements."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from datatorg.db.base import utcnow
from datatorg.market.models import Agreement, PriceModel, UsageDay
from datatorg.market.schemas import StatementRead, UsageRow

CENT = Decimal("0.01")


def add_usage(
    *, session: Session, agreement_id: uuid.UUID, day: date, calls: int, rows: int, nbytes: int
) -> None:
    """Add to one day's counters in a single upsert (safe under concurrent writers)."""
    values = {
        "agreement_id": agreement_id,
        "day": day,
        "calls": calls,
        "rows": rows,
        "nbytes": nbytes,
    }
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(UsageDay).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["agreement_id", "day"],
        set_={
            "calls": UsageDay.calls + stmt.excluded.calls,
            "rows": UsageDay.rows + stmt.excluded.rows,
            "nbytes": UsageDay.nbytes + stmt.excluded.nbytes,
        },
    )
    session.execute(stmt)


def month_bounds(day: date) -> tuple[date, date]:
    """The first day of ``day``'s month and the first day of the next month."""
    first = day.replace(day=1)
    nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, nxt


def totals(
    *, session: Session, agreement_id: uuid.UUID, start: date, end: date
) -> tuple[int, int, int]:
    """Calls, rows and bytes from ``start`` (inclusive) to ``end`` (exclusive)."""
    row = session.execute(
        select(
            func.coalesce(func.sum(UsageDay.calls), 0),
            func.coalesce(func.sum(UsageDay.rows), 0),
            func.coalesce(func.sum(UsageDay.nbytes), 0),
        ).where(UsageDay.agreement_id == agreement_id, UsageDay.day >= start, UsageDay.day < end)
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


def seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, int((moment - now).total_seconds() + 0.999))


def next_midnight(now: datetime) -> datetime:
    return datetime.combine(now.astimezone(UTC).date() + timedelta(days=1), time(0), tzinfo=UTC)


def next_month_start(now: datetime) -> datetime:
    return datetime.combine(month_bounds(now.astimezone(UTC).date())[1], time(0), tzinfo=UTC)


def usage_days(
    *, session: Session, agreement_id: uuid.UUID, start: date, end: date
) -> list[UsageRow]:
    """Every day from ``start`` to ``end`` (exclusive), zeros included."""
    found = {
        u.day: u
        for u in session.scalars(
            select(UsageDay).where(
                UsageDay.agreement_id == agreement_id, UsageDay.day >= start, UsageDay.day < end
            )
        )
    }
    out, d = [], start
    while d < end:
        u = found.get(d)
        out.append(
            UsageRow(
                day=d,
                calls=u.calls if u else 0,
                rows=u.rows if u else 0,
                nbytes=u.nbytes if u else 0,
            )
        )
        d += timedelta(days=1)
    return out


def amount_due(agreement: Agreement, calls: int, rows: int, used: bool) -> Decimal:
    """What one month costs under the agreement's price model (NOK, rounded to øre)."""
    price = Decimal(agreement.price_nok)
    if agreement.price_model == PriceModel.free:
        return Decimal("0.00")
    if agreement.price_model == PriceModel.monthly:
        return price.quantize(CENT) if used else Decimal("0.00")
    if agreement.price_model == PriceModel.per_call:
        return (price * calls).quantize(CENT, ROUND_HALF_UP)
    return (price * rows / 1000).quantize(CENT, ROUND_HALF_UP)


def statement(*, session: Session, agreement: Agreement, month: date) -> StatementRead:
    """The monthly statement: usage per day and the amount due (for invoicing by the city)."""
    first, nxt = month_bounds(month)
    days = usage_days(session=session, agreement_id=agreement.id, start=first, end=nxt)
    calls = sum(d.calls for d in days)
    rows = sum(d.rows for d in days)
    nbytes = sum(d.nbytes for d in days)
    # A fixed monthly price is due for every month the agreement was in force.
    in_force = agreement.valid_from.date() < nxt and agreement.valid_until.date() > first
    return StatementRead(
        agreement_id=agreement.id,
        month=first.strftime("%Y-%m"),
        price_model=agreement.price_model,
        unit_price_nok=Decimal(agreement.price_nok).quantize(CENT),
        calls=calls,
        rows=rows,
        nbytes=nbytes,
        amount_due_nok=amount_due(agreement, calls, rows, in_force),
        days=days,
    )


def csv_cell(value: object) -> str:
    """A cell that a spreadsheet will not run as a formula."""
    text = str(value)
    if text and text[0] in "=+-@\t\r|":
        return "'" + text
    return text


def statement_csv(st: StatementRead, *, dataset: str, recipient: str) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(
        [
            "agreement",
            "month",
            "dataset",
            "recipient",
            "price_model",
            "unit_price_nok",
            "calls",
            "rows",
            "bytes",
            "amount_due_nok",
        ]
    )
    w.writerow(
        [
            csv_cell(v)
            for v in (
                st.agreement_id,
                st.month,
                dataset,
                recipient,
                st.price_model.value,
                st.unit_price_nok,
                st.calls,
                st.rows,
                st.nbytes,
                st.amount_due_nok,
            )
        ]
    )
    w.writerow([])
    w.writerow(["day", "calls", "rows", "bytes"])
    for d in st.days:
        w.writerow([d.day.isoformat(), d.calls, d.rows, d.nbytes])
    return buf.getvalue()


def today() -> date:
    return utcnow().date()
