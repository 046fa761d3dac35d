"""Migrations run on an empty database of the backend under test and match the models."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from datatorg.db import migrate
from datatorg.db.autogen import COMPARE_OPTS
from datatorg.db.engine import make_engine
from datatorg.db.models import Base
from tests.conftest import BACKEND
from tests.pg import PostgresServer


def _fresh_url(pg_server: PostgresServer | None, tmp_path: Path) -> str:
    if pg_server is not None:
        return pg_server.create_database(f"mig_{tmp_path.name[-12:].replace('-', '_').lower()}")
    return f"sqlite:///{tmp_path / 'fresh.sqlite3'}"


def test_upgrade_to_head_then_autogenerate_finds_no_difference(
    pg_server: PostgresServer | None, tmp_path: Path
) -> None:
    url = _fresh_url(pg_server, tmp_path)
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts=COMPARE_OPTS)
            diff = compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], f"models and migrations differ on {BACKEND}: {diff}"


def test_upgrade_twice_is_a_no_op(pg_server: PostgresServer | None, tmp_path: Path) -> None:
    url = _fresh_url(pg_server, tmp_path)
    migrate.upgrade(url)
    migrate.upgrade(url)
