"""Page views first (``web/priority.py``): when bulk reads outnumber the young interactive
requests in flight on their worker, a bulk read waits for those, at most ``BULK_WAIT_S``;
writes and old requests do not hold it back; with nothing interactive in flight, or pages
the most of the traffic, it goes at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import TypeVar

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from datatorg.web import priority
from tests.aio import run

T = TypeVar("T")


# -- the counter alone --------------------------------------------------------------------


def _crowd(inter: priority.Interactive, n: int = 2) -> list[dict[str, str]]:
    """``n`` bulk reads in flight (the one that waits among them); keep the list alive."""
    scopes = [{"type": "http"} for _ in range(n)]
    for scope in scopes:
        inter.bulk_begin(scope)
    return scopes


def _waited(
    inter: priority.Interactive, page: dict[str, str] | None = None, after: float = 0
) -> float:
    """How long a bulk read's ``wait_turn`` took; ``page`` begins first and, with ``after``,
    ends that many seconds later."""

    async def main() -> float:
        if page is not None:
            inter.begin(page)
            if after:
                asyncio.get_running_loop().call_later(after, inter.end, page)
        t0 = time.monotonic()
        await inter.wait_turn()
        return time.monotonic() - t0

    return run(main())


@pytest.fixture
def patient(monkeypatch: pytest.MonkeyPatch) -> float:
    """A 2 s bound: a read that goes early is told from one that waited its bound however
    busy the machine running the tests is."""
    monkeypatch.setattr(priority, "BULK_WAIT_S", 2.0)
    return 2.0


def test_a_bulk_read_goes_at_once_when_nothing_interactive_is_in_flight(patient: float) -> None:
    inter = priority.Interactive()
    assert _waited(inter) < patient / 2
    assert inter.yielded == 0


def test_a_bulk_read_goes_at_once_when_pages_are_most_of_the_traffic(patient: float) -> None:
    inter = priority.Interactive()
    pages = [{"type": "http"} for _ in range(3)]
    for page in pages:
        inter.begin(page)
    bulk = _crowd(inter, 2)
    assert _waited(inter) < patient / 2
    assert inter.yielded == 0 and bulk


def test_a_bulk_read_waits_until_the_interactive_request_ends(patient: float) -> None:
    inter = priority.Interactive()
    bulk = _crowd(inter)
    assert 0.015 <= _waited(inter, {"type": "http"}, after=0.02) < patient / 2
    assert inter.yielded == 1 and bulk


def test_a_bulk_read_waits_at_most_its_bound() -> None:
    inter = priority.Interactive()
    bulk = _crowd(inter)
    waited = _waited(inter, {"type": "http"})  # never ends
    assert priority.BULK_WAIT_S * 0.9 <= waited < priority.BULK_WAIT_S + 0.5 and bulk


def test_an_old_request_in_flight_does_not_hold_bulk_reads_back(patient: float) -> None:
    inter = priority.Interactive()
    stream = {"type": "http"}
    inter.begin(stream)
    inter._started[id(stream)] -= priority.YOUNG_S + 1  # began long ago (a stream, a download)
    bulk = _crowd(inter)
    assert _waited(inter) < patient / 2
    assert inter.yielded == 0 and bulk


def test_an_old_request_in_flight_does_not_keep_a_bulk_read_waiting_its_whole_bound(
    patient: float,
) -> None:
    """A young page view ends after 5 ms while a download that began long ago (a client
    reading it slowly) is still in flight: the bulk read goes when the page view ends."""
    inter = priority.Interactive()
    stream = {"type": "http"}
    inter.begin(stream)
    inter._started[id(stream)] -= priority.YOUNG_S + 1
    bulk = _crowd(inter)
    assert _waited(inter, {"type": "http"}, after=0.005) < patient / 2
    assert inter.yielded == 1 and bulk


# -- in the app ---------------------------------------------------------------------------


@pytest.fixture
def timed_app(app: FastAPI) -> Iterator[FastAPI]:
    """The real app (its middleware) with three routes of this test: a slow page, a slow
    write and a bulk read that records when it went ahead."""

    async def slow_page() -> dict[str, float]:
        await asyncio.sleep(0.03)
        return {"done": time.monotonic()}

    async def slow_write() -> dict[str, float]:
        await asyncio.sleep(0.03)
        return {"done": time.monotonic()}

    async def bulk(request: Request) -> dict[str, float]:
        await priority.bulk_read(request)
        went = time.monotonic()
        await asyncio.sleep(0.05)  # still in flight when the next bulk read arrives
        return {"went": went}

    app.add_api_route("/test-priority/page", slow_page, methods=["GET"])
    app.add_api_route("/test-priority/write", slow_write, methods=["POST"])
    app.add_api_route("/test-priority/bulk", bulk, methods=["GET"])
    yield app


def _race(app: FastAPI, first: tuple[str, str]) -> tuple[float, float]:
    """Send ``first``, then a bulk read 5 ms later and another 5 ms after that (two bulk reads
    then outnumber one page view); when the first ended, when the second bulk read went."""

    async def main() -> tuple[float, float]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
            # the app's first request is slow (seconds on a busy machine): past YOUNG_S, the
            # page view would no longer count as one
            await c.get("/test-priority/bulk")
            method, path = first
            one = asyncio.create_task(c.request(method, path))
            await asyncio.sleep(0.005)
            other = asyncio.create_task(c.get("/test-priority/bulk"))
            await asyncio.sleep(0.005)
            two = await c.get("/test-priority/bulk")  # the second bulk read in flight
            done = (await one).json()["done"]
            await other
            return done, two.json()["went"]

    return run(main())


def test_in_the_app_a_bulk_read_lets_a_page_view_finish_first(timed_app: FastAPI) -> None:
    page_done, bulk_went = _race(timed_app, ("GET", "/test-priority/page"))
    assert bulk_went >= page_done


def test_in_the_app_a_write_in_flight_does_not_hold_a_bulk_read(timed_app: FastAPI) -> None:
    write_done, bulk_went = _race(timed_app, ("POST", "/test-priority/write"))
    assert bulk_went < write_done


def test_the_rows_api_is_a_bulk_read(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    async def spy(request: Request) -> None:
        calls.append(request.url.path)

    monkeypatch.setattr(priority, "bulk_read", spy)
    client.get("/api/v1/datasets/no-such-dataset/rows")
    client.get("/datasets")
    assert calls == ["/api/v1/datasets/no-such-dataset/rows"]
