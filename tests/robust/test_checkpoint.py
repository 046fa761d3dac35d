"""WAL checkpoints off the request paths (``db/checkpoint.py``): the server's connections
never checkpoint inside a commit, and a thread of each worker does it instead."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from datatorg.app import create_app
from datatorg.db.checkpoint import Checkpointer
from datatorg.db.engine import make_engine
from datatorg.db.writes import write_sessionmaker
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
    before = sys.getswitchinterval()
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        assert running()
        # and threads holding a database lock get the GIL back sooner (app.SWITCH_INTERVAL_S)
        assert sys.getswitchinterval() == pytest.approx(0.001)
    assert not running()
    assert sys.getswitchinterval() == before
    app.state.engine.dispose()


def test_the_log_stays_bounded_while_writes_never_pause(tmp_path: Path) -> None:
    """SQLite starts its log over only when a write begins with every frame checkpointed. In
    a commit (SQLite's own way) that is always so for the next writer; a checkpointer
    running beside a stream of writes almost never finishes between two of them, and the log
    grew by everything written (146 MB in a 60 s soak, 4 MB with SQLite's own checkpoints)."""
    path = tmp_path / "ck.sqlite3"
    engine = make_engine(f"sqlite:///{path}", background_checkpoints=True)
    log = Path(str(path) + "-wal")
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x BLOB)"))
        checkpointer = Checkpointer(str(path), interval_s=0.01).start()
        largest = 0
        try:
            factory = write_sessionmaker(engine)
            for _ in range(3000):  # about 12,000 pages (48 MB) written, without a pause
                with factory() as session:
                    session.execute(text("INSERT INTO t VALUES (randomblob(16000))"))
                    session.commit()
                largest = max(largest, log.stat().st_size)
        finally:
            checkpointer.stop()
        assert checkpointer.rounds >= 1
        # SQLite's threshold of 1,000 pages and what is written while the checkpointer waits
        # for the CPU; the log grew by all 48 MB before
        assert largest < 20_000_000
    finally:
        engine.dispose()
