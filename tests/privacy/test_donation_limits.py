"""Hostile donations by any signed-in citizen: a clear 422, without a 500 or a memory spike.

* JSON nested ~1000 deep raised ``RecursionError`` in ``json.loads`` (500, measured on the
  demo through ``POST /api/v1/me/donations``).
* The 100,000-row limit was checked after every row was read: a 5 MB CSV of short lines
  (1.3 million rows) took 4.7 s and ~180 MB of a worker's memory before it was refused.
"""

from __future__ import annotations

import tracemalloc

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.errors import Invalid
from datatorg.privacy import donations
from tests.factories import make_token, make_user


def test_deep_json_is_refused_plainly(client: TestClient, session: Session) -> None:
    headers = make_token(session, make_user(session))
    for name, body in (
        ("deep.json", b"[" * 200_000 + b"]" * 200_000),
        ("lines.json", b'{"a":' * 100_000 + b"1" + b"}" * 100_000),
    ):
        r = client.post(
            "/api/v1/me/donations",
            files={"file": (name, body)},
            data={"kind": "meter", "purposes": ["DataAltruism"]},
            headers=headers,
        )
        assert r.status_code == 422, (name, r.status_code, r.text[:200])
        assert "deep" in r.json()["detail"]


def test_too_many_rows_are_refused_before_they_are_all_read() -> None:
    raw = b"time,kwh\n" + b"1,1\n" * 1_300_000  # 5 MB
    assert len(raw) <= donations.MAX_BYTES
    tracemalloc.start()
    try:
        with pytest.raises(Invalid) as exc:
            donations.parse(raw, "many.csv", donations.KINDS["meter"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "100,000 rows" in str(exc.value)
    assert peak < 80 * 1024 * 1024, peak  # the rows up to the limit, not all 1.3 million
