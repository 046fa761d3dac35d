"""The read path's time budget interrupts DuckDB; the row cap sets ``truncated``."""

from __future__ import annotations

import contextvars
import time
from pathlib import Path

import pytest

from datatorg.db import waits
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


class _Marks:
    """A request's ``db.waits.Waiter``, as the web layer's admission sets one: the marks."""

    def __init__(self) -> None:
        self.marks: list[str] = []

    def wait_began(self, at_once: bool = False) -> None:
        self.marks.append("at once" if at_once else "began")

    def wait_ended(self) -> None:
        self.marks.append("ended")


def _marked(work: object) -> list[str]:
    waiter = _Marks()

    def run() -> None:
        waits.current.set(waiter)
        work()  # type: ignore[operator]

    contextvars.copy_context().run(run)  # the waiter stays in this call's context
    return waiter.marks


def test_duckdb_work_is_a_wait_of_the_request(tmp_path: Path) -> None:
    """A query, an export and a stream each mark DuckDB's work as one wait of the request,
    ended when DuckDB is done, also when the time budget interrupts it: the admission lets
    the next request in line through while a slow query runs without the interpreter."""
    assert _marked(lambda: reader.query("SELECT 1", [], cap=1, budget_ms=5000)) == [
        "began",
        "ended",
    ]
    target = tmp_path / "out.csv"
    copied = _marked(
        lambda: reader.copy_to("SELECT * FROM range(3)", [], target, "csv", budget_ms=5000)
    )
    assert copied == ["began", "ended"] and target.read_text().count("\n") == 4

    def streamed() -> None:
        batches = list(reader.stream("SELECT * FROM range(7)", [], batch=3, budget_ms=5000))
        assert [len(rows) for _, rows in batches] == [3, 3, 1]

    assert _marked(streamed) == ["began", "ended"]

    def interrupted() -> None:
        with pytest.raises(reader.QueryTimeout):
            reader.query(
                "SELECT count(*) FROM range(100000000000) a WHERE a.range % 7 = 3",
                [],
                cap=1,
                budget_ms=200,
            )

    assert _marked(interrupted) == ["began", "ended"]
