"""WAL checkpoints off the request paths (``db/checkpoint.py``): the server's connections
never checkpoint inside a commit, and a thread of each worker does it instead."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from datatorg.app import create_app
from datatorg.db.checkpoint import Checkpointer
from datatorg.db.engine import make_engine
from tests.robust.server import new_installation


def _autocheckpoint(url: str, background: bool) -> int:
    engine = make_engine(url, background_checkpoints=background)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("PRAGMA wal_autocheckpoint")).scalar_one())
    finally:
        engine.dispose()


def test_the_servers_connections_leave_checkpoints_to_the_checkpointer(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ck.sqlite3'}"
    assert _autocheckpoint(url, background=True) == 0
    assert _autocheckpoint(url, background=False) == 1000  # the command line: SQLite's own


@pytest.mark.parametrize("background", [True, False], ids=["server", "command-line"])
def test_commits_do_not_checkpoint_and_the_checkpointer_does(
    tmp_path: Path, background: bool
) -> None:
    path = tmp_path / "ck.sqlite3"
    engine = make_engine(f"sqlite:///{path}", background_checkpoints=background)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x BLOB)"))
        for _ in range(300):  # about 1,200 pages, past SQLite's automatic threshold of 1,000
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO t VALUES (randomblob(16000))"))
        copied = path.stat().st_size  # what checkpoints copied into the database file so far
        if not background:  # SQLite's own checkpoint ran inside a commit
            assert copied > 2_000_000
            return
        assert copied < 1_000_000  # no commit checkpointed: it is all still in the log

        checkpointer = Checkpointer(str(path), interval_s=0.05).start()
        try:
            deadline = time.monotonic() + 10
            while checkpointer.rounds < 1 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert checkpointer.rounds >= 1
            assert any(t.name == "wal-checkpoint" for t in threading.enumerate())
        finally:
            checkpointer.stop()
        assert not checkpointer._thread.is_alive()
        assert path.stat().st_size > 4_000_000  # the checkpointer copied the log over
    finally:
        engine.dispose()


def test_the_server_runs_a_checkpointer_while_it_serves(tmp_path: Path) -> None:
    inst = new_installation(tmp_path, None, "ck")
    app = create_app(inst.settings())

    def running() -> bool:
        return any(t.name == "wal-checkpoint" and t.is_alive() for t in threading.enumerate())

    assert not running()
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        assert running()
    assert not running()
    app.state.engine.dispose()
