"""The Snowball revision rebuilds every stored search document on both databases."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from datatorg.catalog import search
from datatorg.db import migrate
from datatorg.db.engine import make_engine
from tests.pg import PostgresServer
from tests.test_migrations import _fresh_url

BEFORE = "bfaf1bc77330"  # the revision before catalog_search_snowball


def test_upgrade_rebuilds_search_documents(
    pg_server: PostgresServer | None, tmp_path: Path
) -> None:
    url = _fresh_url(pg_server, tmp_path)
    migrate.upgrade(url, BEFORE)
    engine = make_engine(url)
    org, ds = uuid.uuid4(), uuid.uuid4()
    sqlite = engine.dialect.name == "sqlite"
    key = ds.hex if sqlite else ds
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO organisations (id, slug, name, kind, orgnr, homepage, "
                    "created_at, updated_at) VALUES (:id, 'o', 'Halden kommune', "
                    "'public_sector', '', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"id": org.hex if sqlite else org},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO datasets (id, slug, title_nb, title_en, description_nb, "
                    "description_en, publisher_id, status, access_rights, classification, "
                    "has_personal_data, license, search_doc, sort_title, conforms_to, "
                    "created_at, updated_at) VALUES (:id, 's', 'Målinger av støy', "
                    "'Noise at bus stops', '', '', :org, 'published', 'PUBLIC', 'open', "
                    "false, 'NLOD-2.0', 'mål av stø', 'målinger av støy', '[]', "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"id": key, "org": org.hex if sqlite else org},
            )
            if sqlite:
                conn.execute(
                    sa.text("INSERT INTO dataset_fts (dataset_id, doc) VALUES (:k, 'mål av stø')"),
                    {"k": ds.hex},
                )
        migrate.upgrade(url)
        expected = search.document(
            ["Målinger av støy", "", "", "Halden kommune", "", ""], ["Noise at bus stops"]
        )
        assert "måling" in expected.split() and "bus" in expected.split()
        with engine.connect() as conn:
            doc = conn.execute(sa.text("SELECT search_doc FROM datasets")).scalar_one()
            assert doc == expected
            if sqlite:
                fts = conn.execute(sa.text("SELECT dataset_id, doc FROM dataset_fts")).all()
                assert [tuple(r) for r in fts] == [(ds.hex, expected)]
    finally:
        engine.dispose()


def test_fts_rows_move_to_their_rowids(tmp_path: Path) -> None:
    """SQLite only (PostgreSQL has no FTS5 table): the rows written before revision
    9c41e07d2b5a sit at any rowid; after it, each dataset's row is at ``fts_rowid`` and a
    write finds it there."""
    url = f"sqlite:///{tmp_path / 'fts.sqlite3'}"
    migrate.upgrade(url, "9c41e07d2b5a-1")  # the revision before it, wherever it is
    engine = make_engine(url)
    org, ds = uuid.uuid4(), uuid.uuid4()
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO organisations (id, slug, name, kind, orgnr, homepage, "
                    "created_at, updated_at) VALUES (:id, 'o', 'Halden kommune', "
                    "'public_sector', '', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"id": org.hex},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO datasets (id, slug, title_nb, title_en, description_nb, "
                    "description_en, publisher_id, status, access_rights, classification, "
                    "has_personal_data, license, search_doc, sort_title, conforms_to, "
                    "created_at, updated_at) VALUES (:id, 's', 'Støy', '', '', '', :org, "
                    "'published', 'PUBLIC', 'open', false, 'NLOD-2.0', 'stø', 'støy', '[]', "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"id": ds.hex, "org": org.hex},
            )
            conn.execute(
                sa.text("INSERT INTO dataset_fts (rowid, dataset_id, doc) VALUES (7, :k, 'x')"),
                {"k": ds.hex},
            )
        migrate.upgrade(url)
        with engine.connect() as conn:
            fts = conn.execute(sa.text("SELECT rowid, dataset_id, doc FROM dataset_fts")).all()
        assert [tuple(r) for r in fts] == [(search.fts_rowid(ds), ds.hex, "stø")]
    finally:
        engine.dispose()


def test_datasets_that_share_an_fts_rowid_keep_one_row_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's FTS5 rows are found by rowid; when every dataset wants the same one (about
    once in 10^9 real catalogs), the later ones go below zero and writes still replace their
    own row only."""
    from sqlalchemy.orm import Session

    from datatorg.catalog import finder, service
    from datatorg.identity.actor import ANONYMOUS
    from tests.catalog.helpers import make_dataset
    from tests.factories import make_org

    url = f"sqlite:///{tmp_path / 'slots.sqlite3'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    monkeypatch.setattr(search, "fts_rowid", lambda _id: 5)
    try:
        with Session(engine) as session:
            org = make_org(session, slug="kollisjon", name="Kollisjon")
            sets = [
                make_dataset(session, org, slug=f"k-{i}", title_nb=title)
                for i, title in enumerate(["Avløp", "Bybusser", "Ørret"])
            ]
            service.change(
                session=session,
                actor=None,
                dataset=sets[1],
                values={"title_nb": "Bysykler"},
                action="update",
            )
            session.flush()
            rows = session.execute(sa.text("SELECT rowid, dataset_id, doc FROM dataset_fts")).all()
            assert sorted(r.dataset_id for r in rows) == sorted(d.id.hex for d in sets)
            by_key = {r.dataset_id: r for r in rows}
            assert by_key[sets[0].id.hex].rowid == 5
            assert by_key[sets[1].id.hex].doc == sets[1].search_doc
            assert all(r.rowid < 0 for r in rows if r.dataset_id != sets[0].id.hex)

            def found(q: str) -> list[str]:
                query = finder.SearchQuery(q=q)
                return [h.slug for h in finder._search_sql(session, ANONYMOUS, query).hits]

            assert found("bysykler") == ["k-1"] and found("bybusser") == []
            assert found("avløp") == ["k-0"] and found("ørret") == ["k-2"]
    finally:
        engine.dispose()
