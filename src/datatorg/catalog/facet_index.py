"""An in-process index of the published catalog for fast facets, filters and sorting.

Full-text matching stays in the database (FTS5 / tsvector); everything after it — facet
filters, facet counts, sorting and relevance — runs on this index as bitmask operations on
Python integers. The index is keyed on ``catalog_state.version``, which every flush that
touches the catalog changes (see ``models.bump``), so a search never sees a stale index: another
worker's write, or a rolled-back one, shows up as a different version and the index is
rebuilt (about 3 s at 50,000 datasets on a small machine).
"""

from __future__ import annotations

import bisect
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import String, cast, literal_column, select
from sqlalchemy.orm import Session

from datatorg.catalog import search
from datatorg.catalog.models import (  # noqa: F401 - bump is re-exported for writers
    CatalogState,
    Dataset,
    DatasetKeyword,
    DatasetStatus,
    DatasetTheme,
    Distribution,
    bump,
)
from datatorg.identity.models import Organisation

SINGLE = ("publisher", "access_rights", "license", "classification")
MULTI = ("theme", "format", "keyword")
SPARSE = 64  # title words in fewer datasets are kept as lists, not 6 KiB bitmasks


@dataclass
class FacetIndex:
    """Published datasets numbered 0…n-1 in title order; sets of them are int bitmasks."""

    version: str
    uuids: list[uuid.UUID] = field(default_factory=list)
    number: dict[str, int] = field(default_factory=dict)  # uuid hex → number
    fts_rowid: dict[int, int] = field(default_factory=dict)  # SQLite: dataset_fts rowid → number
    updated: list[datetime] = field(default_factory=list)
    by: dict[str, dict[str, int]] = field(default_factory=dict)
    order: dict[str, list[int]] = field(default_factory=dict)
    # a title word → a bitmask, or for rare words (fewer than SPARSE datasets) their numbers
    title_words: dict[str, int | list[int]] = field(default_factory=dict)
    title_vocab: list[str] = field(default_factory=list)  # sorted, for prefix lookups

    @property
    def all(self) -> int:
        return (1 << len(self.uuids)) - 1

    def _words(self, words: Iterable[str]) -> int:
        out, rare = 0, []
        for word in words:
            found = self.title_words.get(word, 0)
            if isinstance(found, list):
                rare += found
            else:
                out |= found
        return out | to_mask(rare, len(self.uuids)) if rare else out

    def with_title_word(self, term: str) -> int:
        return self._words([term])

    def with_title_prefix(self, term: str) -> int:
        i = bisect.bisect_left(self.title_vocab, term)
        j = i
        while j < len(self.title_vocab) and self.title_vocab[j].startswith(term):
            j += 1
        return self._words(self.title_vocab[i:j])


def to_mask(numbers: Iterable[int], size: int) -> int:
    """The bitmask with ``numbers`` set."""
    buf = bytearray((size + 7) // 8)
    for n in numbers:
        buf[n >> 3] |= 1 << (n & 7)
    return int.from_bytes(buf, "little")


def positions(mask: int) -> list[int]:
    """The numbers set in ``mask``, ascending."""
    out: list[int] = []
    for i, byte in enumerate(mask.to_bytes((mask.bit_length() + 7) // 8, "little")):
        if byte:
            base = i * 8
            out.extend(base + j for j in range(8) if byte >> j & 1)
    return out


def lowest(mask: int, k: int) -> list[int]:
    out: list[int] = []
    while mask and len(out) < k:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out


def highest(mask: int, k: int) -> list[int]:
    out: list[int] = []
    while mask and len(out) < k:
        top = mask.bit_length() - 1
        out.append(top)
        mask ^= 1 << top
    return out


def current_version(session: Session) -> str:
    return session.scalar(select(CatalogState.version).where(CatalogState.id == 1)) or "-"


def build(session: Session, version: str) -> FacetIndex:
    """Read the published catalog into a new index."""
    index = FacetIndex(version=version, by={f: {} for f in (*SINGLE, *MULTI)})
    published = Dataset.status == DatasetStatus.published
    conn = session.connection()  # Core rows: no ORM bookkeeping for 50,000 of them
    found = conn.execute(
        select(
            Dataset.id, Organisation.slug, Dataset.access_rights, Dataset.license,
            Dataset.classification, Dataset.sort_title, Dataset.updated_at,
            Dataset.published_at, Dataset.title_nb, Dataset.title_en,
        )
        .join(Organisation, Organisation.id == Dataset.publisher_id)
        .where(published)
    ).all()  # fmt: skip
    rows = sorted(found, key=lambda r: (r.sort_title, str(r.id)))  # numbers follow title order
    size = len(rows)
    sets: dict[str, dict[str, list[int]]] = {f: {} for f in index.by}
    words: dict[str, list[int]] = {}
    published_at: list[float] = []
    for n, r in enumerate(rows):
        index.uuids.append(r.id)
        index.number[r.id.hex] = n
        index.updated.append(r.updated_at)
        published_at.append((r.published_at or r.updated_at).timestamp())
        singles = (r.slug, r.access_rights.value, r.license, r.classification.value)
        for name, value in zip(SINGLE, singles, strict=True):
            sets[name].setdefault(value, []).append(n)
        for word in search.title_tokens(r.title_nb, r.title_en):
            words.setdefault(word, []).append(n)
    for name, col, key in (
        ("theme", DatasetTheme.theme, DatasetTheme.dataset_id),
        ("format", Distribution.format, Distribution.dataset_id),
        ("keyword", DatasetKeyword.value, DatasetKeyword.dataset_id),
    ):
        stmt = select(cast(key, String), col).join(Dataset).where(published)
        for ds_id, value in conn.execute(stmt):
            if value:
                sets[name].setdefault(value, []).append(index.number[ds_id.replace("-", "")])
    if session.get_bind().dialect.name == "sqlite":
        for rowid, ds_hex in conn.execute(
            select(literal_column("rowid"), search.FTS_TABLE.c.dataset_id)
        ):
            if ds_hex in index.number:
                index.fts_rowid[rowid] = index.number[ds_hex]
    index.by = {f: {v: to_mask(ns, size) for v, ns in vs.items()} for f, vs in sets.items()}
    index.title_words = {
        w: ns if len(ns) < SPARSE else to_mask(ns, size) for w, ns in words.items()
    }
    index.title_vocab = sorted(index.title_words)
    by_id = sorted(range(size), key=lambda n: str(rows[n].id))  # ties: id ascending, as in SQL
    stamps = [u.timestamp() for u in index.updated]
    index.order["modified"] = sorted(by_id, key=lambda n: -stamps[n])
    index.order["published"] = sorted(by_id, key=lambda n: -published_at[n])
    index.order["-title"] = sorted(by_id, key=lambda n: rows[n].sort_title, reverse=True)
    return index


_lock = threading.Lock()
_cache: dict[tuple[str, str], FacetIndex] = {}


def get(session: Session) -> FacetIndex:
    """The index for the catalog as this session sees it."""
    version = current_version(session)
    key = (str(session.get_bind().engine.url), version)
    found = _cache.get(key)
    if found is None:
        found = build(session, version)
        with _lock:
            for old in [k for k in _cache if k[0] == key[0]]:
                del _cache[old]
            _cache[key] = found
    return found


def narrow(index: FacetIndex, filters: dict[str, list[str]]) -> int:
    """Datasets matching every facet filter (OR within a facet, AND across)."""
    result = index.all
    for name, values in filters.items():
        if name not in index.by:
            continue
        if name in ("format", "access_rights"):
            values = [v.upper() for v in values]
        chosen = 0
        for v in values:
            chosen |= index.by[name].get(v, 0)
        result &= chosen
    return result


def counts(index: FacetIndex, ids: int, keyword_size: int) -> dict[str, list[tuple[str, int]]]:
    """Facet counts over ``ids``, most frequent first, ties by value."""
    out: dict[str, list[tuple[str, int]]] = {}
    for name, values in index.by.items():
        found = [(v, (m & ids).bit_count()) for v, m in values.items()]
        rows = sorted(((v, n) for v, n in found if n), key=lambda r: (-r[1], r[0]))
        out[name] = rows[:keyword_size] if name == "keyword" else rows
    return out


def _relevance(index: FacetIndex, ids: int, terms: list[search.Term], want: int) -> list[int]:
    """Best first: per term +1 for a title word starting with one of its stems, +1 for one of
    its stems as a whole title word; ties in title order. The levels are summed in bit-sliced
    counters."""
    counters: list[int] = []
    for term in terms:
        prefix = word = 0
        for stem in term:
            prefix |= index.with_title_prefix(stem)
            word |= index.with_title_word(stem)
        for hit in (prefix & ids, word & ids):
            carry = hit
            for j, c in enumerate(counters):
                counters[j], carry = c ^ carry, c & carry
            if carry:
                counters.append(carry)
    out: list[int] = []
    for level in range((1 << len(counters)) - 1, -1, -1):
        mask = ids
        for j, c in enumerate(counters):
            mask &= c if level >> j & 1 else ~c
        if mask:
            out += lowest(mask, want - len(out))
            if len(out) >= want:
                break
    return out


def page(
    index: FacetIndex, ids: int, sort: str, terms: list[search.Term], offset: int, limit: int
) -> list[uuid.UUID]:
    """One page of ``ids`` in the asked order, as dataset UUIDs."""
    want = offset + limit
    if sort == "relevance" and terms:
        picked = _relevance(index, ids, terms, want)
    elif sort in ("relevance", "title"):
        picked = lowest(ids, want)
    elif ids == index.all:
        picked = index.order[sort][:want]
    else:
        chosen = set(positions(ids))
        picked = []
        for i in index.order[sort]:
            if i in chosen:
                picked.append(i)
                if len(picked) >= want:
                    break
    return [index.uuids[i] for i in picked[offset:want]]
