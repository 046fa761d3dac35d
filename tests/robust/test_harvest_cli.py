"""`datatorg harvest` holds no database transaction while it fetches its source (issue 11).

A read transaction held across network fetches keeps SQLite's WAL from being checkpointed
(and PostgreSQL's snapshot open) for as long as the remote portal takes, and on SQLite its
later write could not wait for the lock. The command now checks the owner, fetches with no
transaction open, then stores in one write transaction.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session

from datatorg.catalog import harvest_dcat
from datatorg.cli import main
from datatorg.db.engine import make_engine
from datatorg.settings import get_settings
from tests.factories import make_org

FIXTURE = Path(__file__).parent.parent / "catalog" / "fixtures" / "small_catalog.ttl"


def test_harvest_fetches_with_no_transaction_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "cli.sqlite3"
    monkeypatch.setenv("DATATORG_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("DATATORG_ENV", "development")
    get_settings.cache_clear()
    seen: list[tuple[Any, ...]] = []
    original = harvest_dcat.load_graph

    def fetch_and_look(source: str) -> Any:
        # While the source is "on the network", another connection writes and checkpoints the
        # whole WAL: a reader holding a snapshot would make the checkpoint report busy (1).
        other = sqlite3.connect(db, timeout=5)
        try:
            other.execute("CREATE TABLE IF NOT EXISTS probe (x)")
            other.commit()
            seen.append(other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone())
        finally:
            other.close()
        return original(source)

    monkeypatch.setattr(harvest_dcat, "load_graph", fetch_and_look)
    try:
        runner = CliRunner()
        assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
        engine = make_engine(f"sqlite:///{db}")
        with Session(engine) as s:
            make_org(s, slug="halden-kommune")
            s.commit()
        engine.dispose()
        result = runner.invoke(main, ["harvest", "dcat", str(FIXTURE)])
        assert result.exit_code == 0, result.output
        assert "1 created" in result.output
        assert seen and seen[0][0] == 0, seen  # (busy, log frames, checkpointed): not busy
        unknown = runner.invoke(main, ["harvest", "dcat", str(FIXTURE), "--owner", "nobody"])
        assert unknown.exit_code == 1 and "harvest failed" in unknown.output
        assert len(seen) == 1  # an unknown owner is refused before anything is fetched
    finally:
        get_settings.cache_clear()
