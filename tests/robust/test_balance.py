"""The workers' board (datatorg.web.balance): each worker's requests in hand, shared through
a mapped file; a worker that queues while it has more in hand than the least busy one
closes a keep-alive connection now and then (at most one per ``CLOSE_EVERY_S``), and never
otherwise. The live test is in tests/robust/test_worker_sockets.py."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.types import Message

from datatorg.web import balance
from datatorg.web.admission import Admission
from datatorg.web.balance import ABSENT, MARGIN, Board
from tests import aio


@pytest.fixture
def board() -> Iterator[Board]:
    made = Board.create(3)
    yield made
    made.remove()


def _as_worker(board: Board, slot: int, monkeypatch: pytest.MonkeyPatch) -> Board:
    monkeypatch.setattr(os, "environ", {**os.environ, **board.env(slot)})
    worker = Board.of_worker()
    assert worker is not None and worker.slot == slot and worker.slots == 3
    return worker


def test_slots_are_absent_until_their_worker_writes(
    board: Board, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert [board.read(i) for i in range(3)] == [ABSENT] * 3
    worker = _as_worker(board, 1, monkeypatch)
    worker.publish(7)
    assert [board.read(i) for i in range(3)] == [ABSENT, 7, ABSENT]  # seen by the others
    worker.close()


def test_a_worker_is_present_once_it_has_its_board(
    board: Board, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker's slot is present (nothing in hand) from its start, not from its first
    request: a worker no connection reaches (the others hold them all, as after a start or
    a replacement) would otherwise stay absent, and the busy ones would never close a
    connection for it."""
    clock = _Clock()
    monkeypatch.setattr(balance.time, "monotonic", clock)
    busy = _as_worker(board, 0, monkeypatch)
    _as_worker(board, 1, monkeypatch).close()  # started, no request yet
    assert [board.read(i) for i in range(3)] == [0, 0, ABSENT]
    board.write(2, 20)
    assert busy.should_close(20, True)  # the idle worker is somewhere to go
    busy.close()


CUT_SHORT = """
import os, sys
from datatorg.web.balance import ABSENT, Board
board = Board.create(2)
os.environ.update(board.env(0))
worker = Board.of_worker()
os.truncate(board.path, 0)  # someone cuts the file in the temp dir short
worker.publish(3)
assert not worker.should_close(20, True)
board.write(1, ABSENT)  # the supervisor marks a dead worker
worker.close()
board.remove()
print("alive")
"""


def test_a_board_cut_short_kills_nobody() -> None:
    """A mapped page past the end of a truncated file is SIGBUS for whoever touches it: the
    workers at their next request and the supervisor when it marks one dead (the whole
    server went down). A board cut short is left alone instead (in a process of its own:
    the signal would end the test run)."""
    ran = subprocess.run(
        [sys.executable, "-c", CUT_SHORT], capture_output=True, text=True, timeout=60
    )
    assert ran.returncode == 0 and ran.stdout.strip() == "alive", (ran.returncode, ran.stderr)


@pytest.mark.parametrize(
    "env",
    [{}, {balance.BOARD_ENV: "/nonexistent/board"}, {balance.SLOT_ENV: "0"}, {"slot": "x"}],
    ids=["none", "file-gone", "no-file", "bad-slot"],
)
def test_a_worker_without_a_usable_board_has_none(
    board: Board, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    given = {k: v for k, v in os.environ.items() if k not in (balance.BOARD_ENV, balance.SLOT_ENV)}
    if env.get("slot"):
        env = {balance.BOARD_ENV: board.path, balance.SLOT_ENV: env["slot"]}
    monkeypatch.setattr(os, "environ", {**given, **env})
    assert Board.of_worker() is None
    monkeypatch.setattr(os, "environ", {**given, **board.env(3)})  # past the last slot
    assert Board.of_worker() is None


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_only_a_queueing_worker_well_ahead_of_the_least_busy_closes(
    board: Board, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = _Clock()
    monkeypatch.setattr(balance.time, "monotonic", clock)
    me = _as_worker(board, 0, monkeypatch)
    assert not me.should_close(20, True)  # the others have not started: nowhere to go
    board.write(1, 10)
    board.write(2, 18)
    assert not me.should_close(30, False)  # nothing waits for a place here
    assert not me.should_close(10 + MARGIN - 1, True)  # close to the least busy
    assert me.should_close(10 + MARGIN, True)
    assert not me.should_close(30, True)  # one close per CLOSE_EVERY_S
    clock.now += balance.CLOSE_EVERY_S * 1.01
    assert me.should_close(30, True)
    clock.now += balance.CLOSE_EVERY_S * 1.01
    board.write(2, ABSENT)  # a worker died: a reconnecting client might wait for its
    assert not me.should_close(30, True)  # replacement, so nothing is closed meanwhile
    me.close()


def _scope() -> dict[str, Any]:
    return {"type": "http", "method": "GET", "path": "/", "headers": []}


def _closes(board: Board | None, requests: int, limit: int = 1) -> list[bool]:
    """Whether each of ``requests`` concurrent requests through an ``Admission`` with one
    place (all but one queue) was answered with ``Connection: close``."""

    async def run() -> list[bool]:
        release = asyncio.Event()

        async def app(scope: Any, receive: Any, send: Any) -> None:
            await release.wait()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})

        mw = Admission(app, limit=limit, board=board)
        sent: list[list[Message]] = [[] for _ in range(requests)]

        def client(i: int) -> tuple[Any, Any]:
            async def receive() -> Message:
                return {"type": "http.request", "body": b"", "more_body": False}

            async def send(message: Message) -> None:
                sent[i].append(message)

            return receive, send

        tasks = [asyncio.create_task(mw(_scope(), *client(i))) for i in range(requests)]
        for _ in range(20):
            await asyncio.sleep(0)
        assert mw.in_hand == requests
        if board is not None:
            assert board.read(0) == requests  # published for the other workers
        release.set()
        await asyncio.gather(*tasks)
        assert mw.in_hand == 0
        return [(b"connection", b"close") in m[0]["headers"] for m in sent]

    return aio.run(run())


def test_the_busier_worker_closes_one_connection_and_answers_every_request(
    board: Board, monkeypatch: pytest.MonkeyPatch
) -> None:
    me = _as_worker(board, 0, monkeypatch)
    board.write(1, 0)  # idle workers beside this one
    board.write(2, 0)
    closes = _closes(me, 6)
    assert sum(closes) == 1  # one per CLOSE_EVERY_S; the responses are all whole
    assert me.read(0) == 0
    me.close()


def test_without_a_board_or_an_idle_worker_nothing_is_closed(
    board: Board, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _closes(None, 6) == [False] * 6
    me = _as_worker(board, 0, monkeypatch)
    board.write(1, 6)
    board.write(2, 6)  # as busy as this one
    assert _closes(me, 6) == [False] * 6
    board.write(1, 0)
    board.write(2, 0)
    # six in hand and idle workers, but all six at work: no request waits for a place
    assert _closes(me, 6, limit=6) == [False] * 6
    me.close()
