"""The read path's time budget interrupts DuckDB; the row cap sets ``truncated``."""

from __future__ import annotations

import time

import pytest

from datatorg.lake import reader


def test_time_budget_interrupts_a_long_query() -> None:
    started = time.monotonic()
    with pytest.raises(reader.QueryTimeout):
        reader.query(
            "SELECT count(*) FROM range(100000000000) a WHERE a.range % 7 = 3",
            [],
            cap=1,
            budget_ms=200,
        )
    assert time.monotonic() - started < 30  # interrupted, not run to the end


def test_row_cap_fetches_one_more_to_flag_truncation() -> None:
    res = reader.query("SELECT * FROM range(50)", [], cap=10, budget_ms=5000)
    assert len(res.rows) == 10 and res.truncated is True
    res = reader.query("SELECT * FROM range(10)", [], cap=10, budget_ms=5000)
    assert len(res.rows) == 10 and res.truncated is False
