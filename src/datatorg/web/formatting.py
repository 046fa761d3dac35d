"""Numbers, dates and times the way a reader of the page writes them (nb or en).

``350400`` → "350 400" (nb) / "350,400" (en); ``2024-01-01T00:00:00`` → "1. jan. 2024 kl. 00:00"
/ "1 Jan 2024, 00:00". Used by templates (filters ``num``, ``day``, ``moment``, ``local``) and
charts. A point in time is shown in Norwegian local time: ``moment`` converts a timestamp with
a zone (every stored one has), ``local`` also takes one without a zone as UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal

from datatorg.web import i18n

BABEL = {"nb": "nb_NO", "en": "en_GB"}
# the clock a reader in Halden goes by (the system's tz database)
LOCAL = ZoneInfo("Europe/Oslo")


def _loc(locale: str | None) -> str:
    return BABEL.get(locale or i18n.current_locale(), "nb_NO")


def num(value: Any, digits: int | None = None, locale: str | None = None) -> str:
    """A number with the locale's grouping and decimal mark; ``digits`` fixes the decimals."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return str(value)
    if isinstance(value, float) and value != value:  # NaN
        return ""
    if (isinstance(value, Decimal) and not value.is_finite()) or (
        value == 0 and not isinstance(value, int)
    ):
        # A signalling NaN has no hash; -0.0 equals 0.0 with the same hash, and is written
        # apart ("-0"): neither is cached.
        return _num.__wrapped__(value, digits, _loc(locale))
    return _num(value, digits, _loc(locale))


@lru_cache(maxsize=8192, typed=True)
def _num(value: int | float | Decimal, digits: int | None, babel_locale: str) -> str:
    # Babel parses its pattern and looks its locale up on every call: a catalog page of
    # counts spent a tenth of its time here. Typed: 1, 1.0 and Decimal("1.0") are apart.
    if digits is not None:
        pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
        return str(format_decimal(value, format=pattern, locale=babel_locale))
    return str(format_decimal(value, locale=babel_locale))


def day(value: Any, locale: str | None = None, fmt: str = "medium") -> str:
    """A date ("1. jan. 2024" / "1 Jan 2024"); strings in ISO form are parsed first."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        value = value.date()
    return str(format_date(value, format=fmt, locale=_loc(locale)))


def moment(value: Any, locale: str | None = None) -> str:
    """A date and time to the minute. A point in time (a datetime with a zone, as every
    stored timestamp is) is shown in Norwegian local time (Europe/Oslo, summer time
    included); a wall time without a zone, such as a value in a dataset, is shown as it is."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if not isinstance(value, datetime):
        return day(value, locale)
    if value.tzinfo is not None:
        value = value.astimezone(LOCAL).replace(tzinfo=None)
    return format_datetime(
        value,
        format="d. MMM y HH:mm" if _nb(locale) else "d MMM y, HH:mm",
        locale=_loc(locale),
        tzinfo=None,
    )


def local(value: Any, locale: str | None = None) -> str:
    """A moment in Norwegian local time (Europe/Oslo, summer time included), to the minute;
    a time without a zone (an ISO string or a naive datetime) is taken as UTC."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return str(value)
    if not isinstance(value, datetime):
        return day(value, locale)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return moment(value, locale)


def _nb(locale: str | None) -> bool:
    return (locale or i18n.current_locale()) != "en"


def last_day(value: Any, locale: str | None = None) -> str:
    """The last day of a period that ends (exclusive) at ``value``: ``valid_until`` of an
    agreement is the day after its last day, 00:00."""
    if isinstance(value, datetime):
        return day(value - timedelta(days=1), locale)
    return day(value, locale)


def cell(value: Any, kind: str = "", locale: str | None = None) -> str:
    """A value in a data table: numbers grouped, timestamps readable, the rest as it is."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return ("Ja" if value else "Nei") if _nb(locale) else ("Yes" if value else "No")
    if isinstance(value, (int, float, Decimal)):
        return num(value, locale=locale)
    if isinstance(value, datetime) or (kind == "datetime" and isinstance(value, str)):
        shown = moment(value, locale)
        return shown
    if isinstance(value, date) or (kind == "date" and isinstance(value, str)):
        return day(value, locale)
    return str(value)
