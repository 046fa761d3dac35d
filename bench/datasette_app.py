"""Datasette as an ASGI factory, so uvicorn can run it with several workers (benchmarks)."""

from __future__ import annotations

import os
from typing import Any

from datasette.app import Datasette


def app() -> Any:
    ds = Datasette(
        files=[os.environ["BENCH_SQLITE"]],
        immutables=[],
        settings={
            "sql_time_limit_ms": 600_000,
            "max_returned_rows": 10_000,
            "num_sql_threads": 2,
        },
    )
    return ds.app()
