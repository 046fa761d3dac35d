"""Catalog search: one service, two engines (SQLite FTS5, PostgreSQL tsvector).

Both engines index the same document, built here in Python: the metadata's words, Unicode
normalised (NFKC) and case-folded (æ, ø and å stay letters of their own), then stemmed with
the Snowball stemmers (``snowballstemmer``): bokmål text (Norwegian title, description and
keywords, theme labels, publisher) with the Norwegian stemmer, English text with the
English one. The Norwegian stemmer is applied to a fixed point, so *kvalitet* and
*kvaliteten* meet (one pass gives *kvalit* and *kvalitet*). A query's language is not
known, so each query word asks for either of its two stems, each as a prefix: *skoler*,
*skolene* and *skole* meet, *målinger* and *måling* meet without matching *mål*, and *buses*
finds *bus*. Both databases are given the same stems, so they return the same set, and
relevance is scored here from the same tokens, so the order is the same on both.

The analyzer is part of the stored data (``datasets.search_doc``): a change to it needs a
migration that rebuilds the documents (see ``…/versions/*catalog_search_snowball*``).
"""

from __future__ import annotations

import re
import threading
import unicodedata
import uuid
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import snowballstemmer
from sqlalchemy import ColumnElement, column, func, literal_column, select, table, text
from sqlalchemy.orm import Session

from datatorg.catalog.models import Dataset, sort_key

__all__ = ["sort_key"]  # re-exported: the key is defined beside the column it fills
from datatorg.errors import Invalid

WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)
MAX_QUERY_CHARS = 300
MAX_QUERY_TERMS = 12
FTS_TABLE = table("dataset_fts", column("rowid"), column("dataset_id"), column("doc"))
# A Snowball stemmer keeps the word it works on in the instance: one shared by the request
# threads gave another thread's word a wrong stem or an IndexError (a 500 on a catalog search
# under concurrent requests). Each thread has its own.
_STEMMERS = threading.local()


def _stemmer(language: str) -> Any:
    found = getattr(_STEMMERS, language, None)
    if found is None:
        found = snowballstemmer.stemmer(language)
        setattr(_STEMMERS, language, found)
    return found


# A query word asks for any of its stems (each as a prefix): (bokmål stem, English stem).
Term = tuple[str, ...]


def words(value: str) -> list[str]:
    """The words of ``value``: NFKC-normalised and case-folded."""
    return WORD_RE.findall(unicodedata.normalize("NFKC", value).casefold())


@lru_cache(maxsize=200_000)
def stem_nb(word: str) -> str:
    """The bokmål Snowball stem of ``word``, to a fixed point (digits are left alone)."""
    if not word.isalpha():
        return word
    for _round in range(3):
        shorter = str(_stemmer("norwegian").stemWord(word))
        if shorter == word:
            break
        word = shorter
    return word


@lru_cache(maxsize=200_000)
def stem_en(word: str) -> str:
    """The English Snowball stem of ``word`` (digits are left alone)."""
    return str(_stemmer("english").stemWord(word)) if word.isalpha() else word


def document(nb: Iterable[str], en: Iterable[str] = ()) -> str:
    """The indexed document: stems of the bokmål parts ``nb`` and of the English parts
    ``en``, in first occurrence order, without repeats."""
    seen: dict[str, None] = {}
    for part in nb:
        for w in words(part):
            seen.setdefault(stem_nb(w), None)
    for part in en:
        for w in words(part):
            seen.setdefault(stem_en(w), None)
    return " ".join(seen)


def query_terms(q: str) -> list[Term]:
    """What a query asks for: per word, its stems (all words must match, each through one
    of its stems as a prefix)."""
    if len(q) > MAX_QUERY_CHARS:
        raise Invalid(
            f"The search text is longer than {MAX_QUERY_CHARS} characters",
            errors=[{"location": "query", "field": "q", "message": "too long"}],
        )
    terms = dict.fromkeys(tuple(dict.fromkeys((stem_nb(w), stem_en(w)))) for w in words(q))
    return list(terms)[:MAX_QUERY_TERMS]


def match(session: Session, terms: list[Term]) -> ColumnElement[bool]:
    """A condition on ``Dataset`` that holds when its document has every term (one of its
    stems) as a prefix."""
    if session.get_bind().dialect.name == "postgresql":
        tsquery = " & ".join("(" + " | ".join(f"{s}:*" for s in t) + ")" for t in terms)
        vector = func.to_tsvector(literal_column("'simple'::regconfig"), Dataset.search_doc)
        return vector.op("@@")(func.to_tsquery(literal_column("'simple'::regconfig"), tsquery))
    ids = select(FTS_TABLE.c.dataset_id).where(match_sqlite(terms))
    return Dataset.id.in_(ids)


def fts_query(terms: list[Term]) -> str:
    """The FTS5 query: every term as quoted prefixes (stems are plain words, no quotes)."""
    return " AND ".join("(" + " OR ".join(f'"{s}"*' for s in t) + ")" for t in terms)


def match_sqlite(terms: list[Term]) -> ColumnElement[bool]:
    """The FTS5 condition on ``dataset_fts``: every term as a prefix (terms are plain words)."""
    return text("dataset_fts MATCH :fts").bindparams(fts=fts_query(terms))  # type: ignore[return-value]


def sync(session: Session, dataset: Dataset) -> None:
    """Bring the search document (and on SQLite the FTS5 row) up to date with ``dataset``."""
    if session.get_bind().dialect.name != "sqlite":
        return
    unindex(session, dataset.id)
    session.execute(
        FTS_TABLE.insert().values(
            rowid=fts_slot(session, dataset.id), dataset_id=dataset.id.hex, doc=dataset.search_doc
        )
    )


def unindex(session: Session, dataset_id: uuid.UUID) -> None:
    """Remove the dataset's FTS5 row (SQLite), found by its rowid: ``dataset_fts`` has no
    index on ``dataset_id``, and a delete by it read all 50,000 rows (28 ms) on every write."""
    if session.get_bind().dialect.name != "sqlite":
        return
    fts, key = FTS_TABLE.c, dataset_id.hex
    session.execute(
        FTS_TABLE.delete().where(fts.rowid == fts_rowid(dataset_id), fts.dataset_id == key)
    )
    session.execute(FTS_TABLE.delete().where(fts.rowid < 0, fts.dataset_id == key))


def fts_rowid(dataset_id: uuid.UUID) -> int:
    """A dataset's FTS5 rowid: 63 bits of its UUID (≥ 0). Two datasets share it about once
    in 10^9 catalogs of 50,000; the later one then gets a negative rowid (``fts_slot``)."""
    return (dataset_id.int >> 64 ^ dataset_id.int) & (2**63 - 1)


def fts_slot(session: Session, dataset_id: uuid.UUID) -> int:
    """Where the dataset's FTS5 row goes: its ``fts_rowid``, or below the lowest row when
    another dataset holds that (the negative rowids are few, so a delete looks there too)."""
    rid, fts = fts_rowid(dataset_id), FTS_TABLE.c
    if session.execute(select(fts.rowid).where(fts.rowid == rid)).first() is None:
        return rid
    lowest = session.scalar(select(fts.rowid).order_by(fts.rowid).limit(1))
    return min(int(lowest or 0), 0) - 1


def score(title_tokens: tuple[str, ...], terms: list[Term]) -> int:
    """Relevance of a matching dataset: every term counts 1, one more when a title word
    starts with one of its stems, and one more when one of its stems is a whole title word."""
    total = 0
    for term in terms:
        total += 1
        if any(t.startswith(s) for t in title_tokens for s in term):
            total += 1
        if any(s in title_tokens for s in term):
            total += 1
    return total


def title_tokens(title_nb: str, title_en: str) -> tuple[str, ...]:
    return tuple(document([title_nb], [title_en]).split())
