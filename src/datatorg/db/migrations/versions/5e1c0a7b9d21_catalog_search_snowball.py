"""catalog: rebuild the search documents with the Snowball stemmers

The search document (``datasets.search_doc``, and on SQLite its ``dataset_fts`` row) is
built by ``catalog.search``; this revision recomputes it for every dataset with the Snowball
analyzer (bokmål parts with the Norwegian stemmer to a fixed point, English parts with the
English one), replacing the old suffix stripper's stems. Data only; no schema change.

Revision ID: 5e1c0a7b9d21
Revises: bfaf1bc77330
Create Date: 2026-11-30 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5e1c0a7b9d21"
down_revision: str | None = "bfaf1bc77330"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    from datatorg.catalog import search
    from datatorg.catalog.vocab import THEMES

    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT d.id, d.title_nb, d.title_en, d.description_nb, d.description_en, "
            "o.name FROM datasets d JOIN organisations o ON o.id = d.publisher_id"
        )
    ).all()
    if not rows:
        return
    keywords: dict[object, list[tuple[str, str]]] = {}
    for ds, lang, value in conn.execute(
        sa.text("SELECT dataset_id, lang, value FROM dataset_keywords")
    ):
        keywords.setdefault(ds, []).append((lang, value))
    themes: dict[object, list[str]] = {}
    for ds, theme in conn.execute(sa.text("SELECT dataset_id, theme FROM dataset_themes")):
        themes.setdefault(ds, []).append(theme)
    formats: dict[object, list[str]] = {}
    for ds, fmt in conn.execute(sa.text("SELECT dataset_id, format FROM distributions")):
        formats.setdefault(ds, []).append(fmt)
    sqlite = conn.dialect.name == "sqlite"
    for ds, title_nb, title_en, desc_nb, desc_en, org in rows:
        kws, ths = keywords.get(ds, []), [t for t in themes.get(ds, []) if t in THEMES]
        doc = search.document(
            [
                title_nb or "",
                " ".join(v for lang, v in kws if lang != "en"),
                " ".join(THEMES[t].nb for t in ths),
                org or "",
                desc_nb or "",
                " ".join(formats.get(ds, [])),
            ],
            [
                title_en or "",
                " ".join(v for lang, v in kws if lang == "en"),
                " ".join(THEMES[t].en for t in ths),
                desc_en or "",
            ],
        )
        conn.execute(
            sa.text("UPDATE datasets SET search_doc = :doc WHERE id = :id"), {"doc": doc, "id": ds}
        )
        if sqlite:
            key = ds.hex if hasattr(ds, "hex") else str(ds).replace("-", "")
            conn.execute(sa.text("DELETE FROM dataset_fts WHERE dataset_id = :k"), {"k": key})
            conn.execute(
                sa.text("INSERT INTO dataset_fts (dataset_id, doc) VALUES (:k, :doc)"),
                {"k": key, "doc": doc},
            )


def downgrade() -> None:
    """The documents stay as they are: the old analyzer is gone, and search still answers
    (with the new stems) until they are rebuilt by the revision above."""
