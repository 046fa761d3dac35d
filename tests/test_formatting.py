"""Numbers as readers write them (src/datatorg/web/formatting.py), cached or not."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from babel.numbers import format_decimal

from datatorg.web import formatting


def test_numbers_in_bokmal_and_english() -> None:
    assert formatting.num(350400, locale="nb") == "350\xa0400"
    assert formatting.num(350400, locale="en") == "350,400"
    assert formatting.num(1234.5, digits=2, locale="nb") == "1\xa0234,50"
    assert formatting.num(1234.5, digits=0, locale="en") == "1,234"
    assert (
        formatting.num(None) == ""
        and formatting.num("") == ""
        and formatting.num(float("nan")) == ""
    )
    assert formatting.num(True) == "True" and formatting.num("abc") == "abc"


def test_the_cache_keeps_types_and_locales_apart() -> None:
    # 1, 1.0 and Decimal("1.50") compare equal to their neighbours; each keeps its own text.
    for value in (2, 2.0, Decimal("2.50"), 2.5, Decimal("-0.001"), 10**20, 1e-7):
        for loc in ("nb", "en"):
            babel = formatting.BABEL[loc]
            assert formatting.num(value, locale=loc) == format_decimal(value, locale=babel)
            assert formatting.num(value, 3, loc) == format_decimal(
                value, format="#,##0.000", locale=babel
            )
    assert formatting.num(2.5, locale="nb") == "2,5" and formatting.num(2.5, locale="en") == "2.5"


def test_decimals_that_are_not_numbers_are_formatted_uncached() -> None:
    assert formatting.num(Decimal("NaN"), locale="en") == format_decimal(
        Decimal("NaN"), locale="en_GB"
    )
    assert formatting.num(Decimal("Infinity"), locale="nb") == format_decimal(
        Decimal("Infinity"), locale="nb_NO"
    )


@pytest.mark.parametrize("zero, negative_zero", [(0.0, -0.0), (Decimal("0"), Decimal("-0"))])
def test_a_cached_zero_does_not_answer_for_a_negative_zero(zero: Any, negative_zero: Any) -> None:
    """0.0 == -0.0 with equal hashes and one type, so a typed cache would hand the first
    one's text to the other; Babel writes them apart."""
    formatting._num.cache_clear()
    for value in (zero, negative_zero, zero):
        assert formatting.num(value, locale="nb") == format_decimal(value, locale="nb_NO")


@pytest.mark.parametrize(
    "at, nb, en",
    [
        # winter: UTC+1 (a December evening in UTC is an hour later in Halden)
        (datetime(2026, 12, 1, 22, 54, tzinfo=UTC), "1. des. 2026 23:54", "1 Dec 2026, 23:54"),
        # summer time: UTC+2, and past midnight the date moves on too
        (datetime(2026, 6, 30, 22, 54, tzinfo=UTC), "1. juli 2026 00:54", "1 Jul 2026, 00:54"),
    ],
)
def test_points_in_time_are_shown_in_oslo_time(at: datetime, nb: str, en: str) -> None:
    for shown in (formatting.moment, formatting.local):
        assert shown(at, "nb") == nb and shown(at, "en") == en
    assert formatting.local(at.replace(tzinfo=None), "nb") == nb  # no zone: taken as UTC
    assert formatting.moment(at.isoformat(), "nb") == nb
    # a wall time without a zone (a value in a dataset) is shown as it is
    assert formatting.moment(datetime(2026, 12, 1, 22, 54), "nb") == "1. des. 2026 22:54"


def test_the_moment_filter_in_a_template_shows_oslo_time() -> None:
    from datatorg.web.templating import templates

    at = datetime(2026, 12, 1, 22, 54, tzinfo=UTC)
    for text in ("{{ t|moment }}", "{{ t|local }}"):
        assert templates.env.from_string(text).render(t=at).endswith("23:54")
