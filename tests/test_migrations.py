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


def test_upgrade_keeps_an_installation_that_holds_data(tmp_path: Path) -> None:
    """An existing SQLite installation (foreign keys on, as the engine sets them) upgrades:
    a migration step that rebuilt ``dataset_versions`` (a batch "move and copy") failed on
    any database with a published version ("FOREIGN KEY constraint failed" on its DROP TABLE),
    so `datatorg db upgrade` of the demo refused to run."""
    import sqlite3

    path = tmp_path / "existing.sqlite3"
    url = f"sqlite:///{path}"
    migrate.upgrade(url, "9c41e07d2b5a")  # the schema before the live-segments step
    con = sqlite3.connect(path)  # rows as the platform kept them (a version and its head)
    con.execute("PRAGMA foreign_keys=OFF")
    con.execute(
        "INSERT INTO dataset_versions (id, dataset_id, number, mode, row_count, added_rows, "
        "table_schema, schema_changes, source_format, created_at) VALUES "
        "('v1', 'd1', 1, 'replace', 1, 1, '{}', '[]', 'csv', '2026-01-01 00:00:00')"
    )
    con.execute(
        "INSERT INTO dataset_heads (dataset_id, version_id, updated_at) "
        "VALUES ('d1', 'v1', '2026-01-01 00:00:00')"
    )
    con.commit()
    con.close()
    migrate.upgrade(url)
    con = sqlite3.connect(path)
    try:
        rows = con.execute("SELECT id, live FROM dataset_versions").fetchall()
        heads = con.execute("SELECT version_id FROM dataset_heads").fetchall()
    finally:
        con.close()
    assert rows == [("v1", 0)] and heads == [("v1",)]


def test_upgrade_numbers_the_subjects_an_installation_holds(tmp_path: Path) -> None:
    """Subjects registered before subject numbers existed get theirs on upgrade, in the order
    they were created, and a subject created afterwards gets a higher one."""
    import sqlite3

    path = tmp_path / "subjects.sqlite3"
    url = f"sqlite:///{path}"
    migrate.upgrade(url, "6b727296c7d8")  # the schema before subject numbers
    con = sqlite3.connect(path)
    for sid, created in (("b" * 32, "2026-01-02 00:00:00"), ("a" * 32, "2026-01-01 00:00:00")):
        con.execute(
            "INSERT INTO privacy_subjects (id, subject_key, created_at) VALUES (?, ?, ?)",
            (sid, "sk-" + sid[:8], created),
        )
    con.commit()
    con.close()
    migrate.upgrade(url)
    con = sqlite3.connect(path)
    try:
        con.execute(
            "INSERT INTO privacy_subjects (id, subject_key, created_at) VALUES (?, ?, ?)",
            ("c" * 32, "sk-cccc", "2026-01-03 00:00:00"),
        )
        con.execute("INSERT INTO privacy_subject_numbers (subject_id) VALUES (?)", ("c" * 32,))
        rows = con.execute(
            "SELECT subject_id, number FROM privacy_subject_numbers ORDER BY number"
        ).fetchall()
    finally:
        con.close()
    assert [s for s, _ in rows] == ["a" * 32, "b" * 32, "c" * 32]
    assert [n for _, n in rows] == [1, 2, 3]
