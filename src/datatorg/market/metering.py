"""Metering: calls, rows and bytes per agreement per UTC day; quotas and monthly statements."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import case, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from datatorg.db.base import utcnow
from datatorg.market.models import Agreement, PriceModel, QuotaWindow, UsageDay
from datatorg.market.schemas import StatementRead, UsageRow

CENT = Decimal("0.01")


def add_usage(
    *, session: Session, agreement_id: uuid.UUID, day: date, calls: int, rows: int, nbytes: int
) -> None:
    """Add to one day's counters in a single upsert (safe under concurrent writers).

    This is the bill only; ``record_usage`` also counts the use against the quota windows."""
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


def count_in_windows(
    *, session: Session, agreement_id: uuid.UUID, day: date, calls: int, rows: int
) -> None:
    """Count use that was not reserved (recorded by other means than the gate) against the
    quota windows of ``day``, where they exist (a window that does not exist yet starts from
    the bill, which includes this use)."""
    month = month_bounds(day)[0]
    for kind, start, n in (("calls", day, calls), ("rows", month, rows)):
        if n:
            session.execute(
                update(QuotaWindow)
                .where(
                    QuotaWindow.agreement_id == agreement_id,
                    QuotaWindow.kind == kind,
                    QuotaWindow.start == start,
                )
                .values(used=QuotaWindow.used + n)
                .execution_options(synchronize_session=False)
            )


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


# -- reservation: the quota is taken before a read and what it did not use is given back ----


@dataclass(frozen=True)
class Reservation:
    """What one read took from an agreement's quotas (``reserve``)."""

    agreement_id: uuid.UUID
    at: datetime  # when it was reserved: the read is billed on this day
    day: date | None  # the calls window, when the agreement has a daily call quota
    month: date | None  # the rows window (its first day), when it has a monthly row quota
    rows: int | None  # rows granted (None: no row quota)


@dataclass(frozen=True)
class Exhausted:
    """No reservation: which quota is used up and when it refills."""

    reason: str
    retry_after: int


def _ensure_window(
    session: Session, agreement_id: uuid.UUID, kind: str, start: date, end: date
) -> None:
    """Create the window when missing, starting from the bill of its days."""
    column = UsageDay.calls if kind == "calls" else UsageDay.rows
    billed = select(
        literal(agreement_id, QuotaWindow.agreement_id.type),
        literal(kind, QuotaWindow.kind.type),
        literal(start, QuotaWindow.start.type),
        func.coalesce(func.sum(column), 0),
        literal(0, QuotaWindow.last_grant.type),
    ).where(UsageDay.agreement_id == agreement_id, UsageDay.day >= start, UsageDay.day < end)
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(QuotaWindow).from_select(
        ["agreement_id", "kind", "start", "used", "last_grant"], billed
    )
    session.execute(stmt.on_conflict_do_nothing())


def _take(
    session: Session, agreement_id: uuid.UUID, kind: str, start: date, limit: int, want: int
) -> int | None:
    """Take up to ``want`` from the window in one conditional UPDATE; what was granted, or
    None when the window is used up. Concurrent callers queue on the row's lock, and each
    sees what the others took (on PostgreSQL the condition is checked again on the row the
    lock holder committed; on SQLite writers are serialised)."""
    grant = case((QuotaWindow.used + want > limit, limit - QuotaWindow.used), else_=want)
    got = session.execute(
        update(QuotaWindow)
        .where(
            QuotaWindow.agreement_id == agreement_id,
            QuotaWindow.kind == kind,
            QuotaWindow.start == start,
            QuotaWindow.used < limit,
        )
        .values(used=QuotaWindow.used + grant, last_grant=grant)
        .returning(QuotaWindow.last_grant)
        .execution_options(synchronize_session=False)
    ).scalar()
    return None if got is None else int(got)


def reserve(
    *,
    session: Session,
    agreement_id: uuid.UUID,
    calls_per_day: int | None,
    rows_per_month: int | None,
    rows: int,
    now: datetime | None = None,
) -> Reservation | Exhausted:
    """Take one call and up to ``rows`` rows from the agreement's quotas, atomically.

    Runs in the caller's transaction, which should be a fresh one (on SQLite the first
    statement takes the write lock) and must be committed before the read starts; on
    ``Exhausted`` the caller rolls it back. Give back with ``settle`` or ``release``.
    """
    now = (now or utcnow()).astimezone(UTC)
    today = now.date()
    day = month = None
    granted: int | None = None
    if calls_per_day is not None:
        day = today
        _ensure_window(session, agreement_id, "calls", today, today + timedelta(days=1))
        if _take(session, agreement_id, "calls", today, calls_per_day, 1) is None:
            return Exhausted(
                "The daily call quota is used up.", seconds_until(next_midnight(now), now)
            )
    if rows_per_month is not None:
        month, nxt = month_bounds(today)
        _ensure_window(session, agreement_id, "rows", month, nxt)
        granted = _take(session, agreement_id, "rows", month, rows_per_month, max(0, rows))
        if granted is None:
            return Exhausted(
                "The monthly row quota is used up.",
                seconds_until(next_month_start(now), now),
            )
    return Reservation(agreement_id, now, day, month, granted)


def _give_back(session: Session, r: Reservation, calls: int, rows: int) -> None:
    for kind, start, n in (("calls", r.day, calls), ("rows", r.month, rows)):
        if start is not None and n > 0:
            session.execute(
                update(QuotaWindow)
                .where(
                    QuotaWindow.agreement_id == r.agreement_id,
                    QuotaWindow.kind == kind,
                    QuotaWindow.start == start,
                )
                .values(used=QuotaWindow.used - n)
                .execution_options(synchronize_session=False)
            )


def settle(*, session: Session, reservation: Reservation, rows: int) -> None:
    """The read used ``rows`` of what it reserved: give back the rest (in the transaction
    that bills the read)."""
    if reservation.rows is not None:
        _give_back(session, reservation, 0, reservation.rows - rows)


def release(*, session: Session, reservation: Reservation) -> None:
    """The read failed: give back its call and every row it reserved."""
    _give_back(session, reservation, 1, reservation.rows or 0)


def used(*, session: Session, agreement_id: uuid.UUID, kind: str, start: date, end: date) -> int:
    """Calls or rows handed out in a window (reservations in flight included)."""
    found = session.scalar(
        select(QuotaWindow.used).where(
            QuotaWindow.agreement_id == agreement_id,
            QuotaWindow.kind == kind,
            QuotaWindow.start == start,
        )
    )
    if found is not None:
        return int(found)
    calls, rows, _ = totals(session=session, agreement_id=agreement_id, start=start, end=end)
    return calls if kind == "calls" else rows
