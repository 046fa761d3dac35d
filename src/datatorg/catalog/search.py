"""Catalog search: one service, two engines (SQLite FTS5, PostgreSQL tsvector).

Both engines index the same document, built here in Python: the metadata's words, Unicode
normalised, case-folded and lightly stemmed for bokmål and English. Queries go through the
same normaliser and match stems by prefix, so "skoler", "skole" and "skolestatistikk" meet,
æøå survive, and both databases return the same set. Relevance is scored here too, from the
same document, so the order is the same on both.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterable
from functools import lru_cache

from sqlalchemy import ColumnElement, column, func, literal_column, select, table, text
from sqlalchemy.orm import Session

from datatorg.catalog.models import Dataset, sort_key

__all__ = ["sort_key"]  # re-exported: the key is defined beside the column it fills
from datatorg.errors import Invalid

WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)
MAX_QUERY_CHARS = 300
MAX_QUERY_TERMS = 12
# Longest first; a stem keeps at least three letters.
_SUFFIXES = sorted(
    {
        # bokmål
        "heten", "hetene", "het", "ene", "ane", "ende", "ande", "ingen", "inger", "ing",
        "er", "en", "et", "ar", "a", "e",
        # English
        "ies", "es", "s", "ed", "ly",
    },
    key=len,
    reverse=True,
)  # fmt: skip
FTS_TABLE = table("dataset_fts", column("dataset_id"), column("doc"))


def words(value: str) -> list[str]:
    """The words of ``value``: NFKC-normalised and case-folded."""
    return WORD_RE.findall(unicodedata.normalize("NFKC", value).casefold())


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """A light bokmål/English stem (suffix stripping; digits are left alone)."""
    if not word.isalpha():
        return word
    for _round in range(3):  # to a fixed point, so "kvaliteten" and "kvalitet" meet
        for suffix in _SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                word = word[: -len(suffix)]
                break
        else:
            return word
    return word


def document(parts: Iterable[str]) -> str:
    """The indexed document: stems of every part, first occurrence order, no repeats."""
    seen: dict[str, None] = {}
    for part in parts:
        for w in words(part):
            seen.setdefault(stem(w), None)
    return " ".join(seen)


def query_terms(q: str) -> list[str]:
    """The stems a query asks for (all must match, each as a prefix)."""
    if len(q) > MAX_QUERY_CHARS:
        raise Invalid(
            f"The search text is longer than {MAX_QUERY_CHARS} characters",
            errors=[{"location": "query", "field": "q", "message": "too long"}],
        )
    terms = list(dict.fromkeys(stem(w) for w in words(q)))
    return terms[:MAX_QUERY_TERMS]


def match(session: Session, terms: list[str]) -> ColumnElement[bool]:
    """A condition on ``Dataset`` that holds when its document has every term as a prefix."""
    if session.get_bind().dialect.name == "postgresql":
        tsquery = " & ".join(f"{t}:*" for t in terms)
        vector = func.to_tsvector(literal_column("'simple'::regconfig"), Dataset.search_doc)
        return vector.op("@@")(func.to_tsquery(literal_column("'simple'::regconfig"), tsquery))
    ids = select(FTS_TABLE.c.dataset_id).where(match_sqlite(terms))
    return Dataset.id.in_(ids)


def fts_query(terms: list[str]) -> str:
    """The FTS5 query: every term as a quoted prefix (terms are plain words, no quotes)."""
    return " AND ".join(f'"{t}"*' for t in terms)


def match_sqlite(terms: list[str]) -> ColumnElement[bool]:
    """The FTS5 condition on ``dataset_fts``: every term as a prefix (terms are plain words)."""
    return text("dataset_fts MATCH :fts").bindparams(fts=fts_query(terms))  # type: ignore[return-value]


def sync(session: Session, dataset: Dataset) -> None:
    """Bring the search document (and on SQLite the FTS5 row) up to date with ``dataset``."""
    if session.get_bind().dialect.name != "sqlite":
        return
    key = dataset.id.hex
    session.execute(FTS_TABLE.delete().where(FTS_TABLE.c.dataset_id == key))
    session.execute(FTS_TABLE.insert().values(dataset_id=key, doc=dataset.search_doc))


def unindex(session: Session, dataset_id: uuid.UUID) -> None:
    if session.get_bind().dialect.name == "sqlite":
        session.execute(FTS_TABLE.delete().where(FTS_TABLE.c.dataset_id == dataset_id.hex))


def score(title_tokens: tuple[str, ...], terms: list[str]) -> int:
    """Relevance of a matching dataset: every term counts 1, one more when a title word
    starts with it, and one more when it is a whole title word."""
    total = 0
    for term in terms:
        total += 1
        if any(t.startswith(term) for t in title_tokens):
            total += 1
        if term in title_tokens:
            total += 1
    return total


def title_tokens(title_nb: str, title_en: str) -> tuple[str, ...]:
    return tuple(document([title_nb, title_en]).split())
