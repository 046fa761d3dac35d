"""The Snowball revision rebuilds every stored search document on both databases."""

from __future__ import annotations

import uuid
from pathlib import Path

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
