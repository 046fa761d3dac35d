"""An in-process index of the published catalog for fast facets, filters and sorting, kept
live from the catalog's change log.

Everything a published-catalog search does — matching the search document's stems (the
same documents FTS5 and tsvector index for the SQL path), facet filters, facet counts,
sorting and relevance — runs on this index as bitmask operations on Python integers, the
same on SQLite and PostgreSQL. Datasets are numbered; every facet value and every stem is a
bitmask of numbers (a list, for rare stems). A full build numbers the published datasets
in title order, so "the first page in title order" is the lowest set bits.

**Live.** Every catalog write counts up ``catalog_state.seq`` and lists the datasets (or
organisations) it changed in ``catalog_changes`` (``models.bump``). A search reads the
current ``seq``; when the index is behind, it reads the changes since and applies them: a
changed dataset loses its old number (its bits are cleared) and, if still published, gets a
new number at the end (the *tail*, kept in title order beside the numbered part). Applying a
change costs about a millisecond, so a write is visible to the next search of every worker
process, each of which keeps its own index. Changes are applied to a copy (copy-on-write),
so searches running meanwhile keep a consistent index.

**No rebuild in a request.** A full build (seconds at 50,000 datasets) runs only in a
background thread: when a process has no index yet, when the tail grows past ``TAIL_MAX``
(the numbering is then redone), after a bulk write that did not list its datasets, or when
the index cannot be caught up (its base was rolled back, or the log was pruned). Until a
usable index is there, searches are answered by the same query in SQL alone
(``finder._search_sql``), which gives identical pages and facets.
"""

from __future__ import annotations

import bisect
import gc
import heapq
import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, String, cast, select
from sqlalchemy.orm import Session

from datatorg.catalog import search
from datatorg.catalog.models import (  # noqa: F401 - bump is re-exported for writers
    CatalogChange,
    CatalogState,
    Dataset,
    DatasetKeyword,
    DatasetStatus,
    DatasetTheme,
    Distribution,
    bump,
)
from datatorg.identity.models import Organisation

log = logging.getLogger("datatorg.catalog.facet_index")

SINGLE = ("publisher", "access_rights", "license", "classification")
MULTI = ("theme", "format", "keyword")
SPARSE = 64  # title words in fewer datasets are kept as lists, not 6 KiB bitmasks
TAIL_MAX = 2000  # datasets renumbered at the end before a background rebuild
DELTA_MAX = 5000  # changed datasets beyond which catching up waits for a rebuild
KEPT = 4  # indexes kept per database (a rolled-back write leaves its base usable)


@dataclass(frozen=True)
class Facts:
    """What the index needs of one published dataset."""

    id: uuid.UUID
    values: dict[str, tuple[str, ...]]  # facet → its values
    sort_title: str
    updated: datetime
    published: float
    title_words: tuple[str, ...]
    doc_words: tuple[str, ...]  # the search document's stems (``catalog.search``)


@dataclass
class WordMap:
    """Words → the datasets holding them: a bitmask, or for rare words (fewer than
    ``SPARSE`` datasets) a list of numbers; the vocabulary sorted, for prefix lookups."""

    words: dict[str, int | list[int]] = field(default_factory=dict)
    vocab: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, postings: dict[str, list[int]], size: int) -> WordMap:
        words = {w: ns if len(ns) < SPARSE else to_mask(ns, size) for w, ns in postings.items()}
        return cls(words=words, vocab=sorted(words))

    def copy(self) -> WordMap:
        return WordMap(words=dict(self.words), vocab=list(self.vocab))

    def mask(self, words: Iterable[str], size: int) -> int:
        out, rare = 0, []
        for word in words:
            found = self.words.get(word, 0)
            if isinstance(found, list):
                rare += found
            else:
                out |= found
        return out | to_mask(rare, size) if rare else out

    def prefixed(self, prefix: str) -> list[str]:
        i = bisect.bisect_left(self.vocab, prefix)
        j = i
        while j < len(self.vocab) and self.vocab[j].startswith(prefix):
            j += 1
        return self.vocab[i:j]

    def add(self, n: int, words: Iterable[str]) -> None:
        bit = 1 << n
        for word in words:
            found = self.words.get(word)
            if found is None:
                bisect.insort(self.vocab, word)
                self.words[word] = [n]
            elif isinstance(found, list):
                grown = [*found, n]
                self.words[word] = grown if len(grown) < SPARSE else to_mask(grown, n + 1)
            else:
                self.words[word] = found | bit

    def remove(self, n: int, words: Iterable[str]) -> None:
        bit = 1 << n
        for word in words:
            found = self.words.get(word)
            rest: int | list[int] = (
                [m for m in found if m != n] if isinstance(found, list) else (found or 0) & ~bit
            )
            if rest:
                self.words[word] = rest
                continue
            self.words.pop(word, None)
            i = bisect.bisect_left(self.vocab, word)
            if i < len(self.vocab) and self.vocab[i] == word:
                del self.vocab[i]


@dataclass
class FacetIndex:
    """Published datasets numbered; sets of them are int bitmasks."""

    seq: int
    version: str
    uuids: list[uuid.UUID | None] = field(default_factory=list)
    facts: list[Facts | None] = field(default_factory=list)
    number: dict[str, int] = field(default_factory=dict)  # uuid hex → number
    alive: int = 0
    sorted_until: int = 0  # numbers below were numbered in title order by the last build
    tail: list[int] = field(default_factory=list)  # later numbers, kept in title order
    by: dict[str, dict[str, int]] = field(default_factory=dict)
    order: dict[str, list[int]] = field(default_factory=dict)  # modified, published, -title
    title: WordMap = field(default_factory=WordMap)  # stems of the titles (relevance)
    text: WordMap = field(default_factory=WordMap)  # stems of the whole search document

    @property
    def all(self) -> int:
        return self.alive

    @property
    def size(self) -> int:
        return len(self.uuids)

    def with_title_word(self, term: str) -> int:
        return self.title.mask([term], self.size)

    def with_title_prefix(self, term: str) -> int:
        return self.title.mask(self.title.prefixed(term), self.size)

    def matching(self, terms: list[search.Term]) -> int:
        """Datasets whose document has every term (one of its stems) as a word prefix: the
        question the database engines answer for the SQL path."""
        result = self.alive
        for term in terms:
            hit = 0
            for stem in term:
                hit |= self.text.mask(self.text.prefixed(stem), self.size)
            result &= hit
            if not result:
                break
        return result

    def title_key(self, n: int) -> tuple[str, str]:
        found = self.facts[n]
        return (found.sort_title, str(found.id)) if found else ("", "")


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


def first_in_title_order(index: FacetIndex, mask: int, k: int) -> list[int]:
    """The first ``k`` numbers of ``mask`` in title order: the lowest bits of the numbered
    part, merged with the tail's members."""
    head = lowest(mask & ((1 << index.sorted_until) - 1), k)
    if not index.tail:
        return head
    rest = mask >> index.sorted_until
    tail = [n for n in index.tail if rest >> (n - index.sorted_until) & 1] if rest else []
    if not tail:
        return head
    return list(heapq.merge(head, tail, key=index.title_key))[:k]


def _desc_title(title: str) -> tuple[int, ...]:
    """A key that orders titles descending (a title before its own prefix)."""
    return (*(-ord(c) for c in title), 0)


ORDER_KEYS: dict[str, Callable[[Facts], tuple[Any, ...]]] = {
    "modified": lambda f: (-f.updated.timestamp(), str(f.id)),
    "published": lambda f: (-f.published, str(f.id)),
    "-title": lambda f: (_desc_title(f.sort_title), str(f.id)),
}


# Reading the catalog


def _facts_rows(conn: Connection, ids: list[uuid.UUID] | None) -> list[Facts]:
    """The facts of the published datasets (all, or those of ``ids``)."""
    published = Dataset.status == DatasetStatus.published
    stmt = (
        select(
            Dataset.id, Organisation.slug, Dataset.access_rights, Dataset.license,
            Dataset.classification, Dataset.sort_title, Dataset.updated_at,
            Dataset.published_at, Dataset.title_nb, Dataset.title_en, Dataset.search_doc,
        )
        .join(Organisation, Organisation.id == Dataset.publisher_id)
        .where(published)
    )  # fmt: skip
    if ids is not None:
        stmt = stmt.where(Dataset.id.in_(ids))
    base = conn.execute(stmt).all()  # Core rows: no ORM bookkeeping for 50,000 of them
    multi: dict[str, dict[str, list[str]]] = {name: {} for name in MULTI}
    for name, col, key in (
        ("theme", DatasetTheme.theme, DatasetTheme.dataset_id),
        ("format", Distribution.format, Distribution.dataset_id),
        ("keyword", DatasetKeyword.value, DatasetKeyword.dataset_id),
    ):
        sub = select(cast(key, String), col).join(Dataset).where(published)
        if ids is not None:
            sub = sub.where(key.in_(ids))
        for ds_id, value in conn.execute(sub):
            if value:
                multi[name].setdefault(ds_id.replace("-", ""), []).append(value)
    out = []
    for r in base:
        key = r.id.hex
        values = {
            "publisher": (r.slug,),
            "access_rights": (r.access_rights.value,),
            "license": (r.license,),
            "classification": (r.classification.value,),
        } | {name: tuple(dict.fromkeys(multi[name].get(key, ()))) for name in MULTI}
        out.append(
            Facts(
                id=r.id,
                values=values,
                sort_title=r.sort_title,
                updated=r.updated_at,
                published=(r.published_at or r.updated_at).timestamp(),
                title_words=search.title_tokens(r.title_nb, r.title_en),
                doc_words=tuple(dict.fromkeys((r.search_doc or "").split())),
            )
        )
    return out


def state(conn: Connection) -> tuple[int, str]:
    """The catalog's ``(seq, version)`` as this connection sees it."""
    found = conn.execute(
        select(CatalogState.seq, CatalogState.version).where(CatalogState.id == 1)
    ).first()
    return (int(found.seq), str(found.version)) if found else (0, "-")


def build(conn: Connection) -> FacetIndex:
    """Read the published catalog into a new index (numbers in title order)."""
    seq, version = state(conn)
    rows = sorted(_facts_rows(conn, None), key=lambda f: (f.sort_title, str(f.id)))
    index = FacetIndex(seq=seq, version=version, by={f: {} for f in (*SINGLE, *MULTI)})
    size = len(rows)
    sets: dict[str, dict[str, list[int]]] = {f: {} for f in index.by}
    title: dict[str, list[int]] = {}
    text: dict[str, list[int]] = {}
    for n, f in enumerate(rows):
        index.uuids.append(f.id)
        index.facts.append(f)
        index.number[f.id.hex] = n
        for name, values in f.values.items():
            for value in values:
                sets[name].setdefault(value, []).append(n)
        for word in f.title_words:
            title.setdefault(word, []).append(n)
        for word in f.doc_words:
            text.setdefault(word, []).append(n)
    index.alive = (1 << size) - 1
    index.sorted_until = size
    index.by = {f: {v: to_mask(ns, size) for v, ns in vs.items()} for f, vs in sets.items()}
    index.title = WordMap.of(title, size)
    index.text = WordMap.of(text, size)
    for name, key in ORDER_KEYS.items():
        index.order[name] = sorted(range(size), key=lambda n, k=key: k(rows[n]))  # type: ignore[misc]
    return index


# Applying changes (copy-on-write: the old index stays valid for searches running on it)


def apply(
    index: FacetIndex, changed: set[uuid.UUID], facts: list[Facts], seq: int, version: str
) -> FacetIndex:
    """A new index: ``index`` with the datasets of ``changed`` replaced by ``facts`` (the
    published ones among them; the others drop out)."""
    new = replace(
        index,
        seq=seq,
        version=version,
        uuids=list(index.uuids),
        facts=list(index.facts),
        number=dict(index.number),
        tail=list(index.tail),
        by={name: dict(values) for name, values in index.by.items()},
        order={name: list(numbers) for name, numbers in index.order.items()},
        title=index.title.copy(),
        text=index.text.copy(),
    )
    for ds_id in changed:
        n = new.number.pop(ds_id.hex, None)
        if n is not None:
            _remove(new, n)
    for f in facts:
        _add(new, f)
    return new


def _remove(index: FacetIndex, n: int) -> None:
    old = index.facts[n]
    if old is None:
        return
    bit = 1 << n
    index.alive &= ~bit
    for name, values in old.values.items():
        for value in values:
            left = index.by[name].get(value, 0) & ~bit
            if left:
                index.by[name][value] = left
            else:
                index.by[name].pop(value, None)
    index.title.remove(n, old.title_words)
    index.text.remove(n, old.doc_words)
    for name, key in ORDER_KEYS.items():
        numbers = index.order[name]
        i = bisect.bisect_left(numbers, key(old), key=lambda m, k=key: k(index.facts[m]))  # type: ignore[misc]
        while i < len(numbers) and numbers[i] != n:
            i += 1
        if i < len(numbers):
            del numbers[i]
    if n >= index.sorted_until and n in index.tail:
        index.tail.remove(n)
    index.facts[n] = None
    index.uuids[n] = None


def _add(index: FacetIndex, f: Facts) -> None:
    n = len(index.uuids)
    bit = 1 << n
    index.uuids.append(f.id)
    index.facts.append(f)
    index.number[f.id.hex] = n
    index.alive |= bit
    for name, values in f.values.items():
        for value in values:
            index.by[name][value] = index.by[name].get(value, 0) | bit
    index.title.add(n, f.title_words)
    index.text.add(n, f.doc_words)
    for name, key in ORDER_KEYS.items():
        bisect.insort(index.order[name], n, key=lambda m, k=key: k(index.facts[m]))  # type: ignore[misc]
    bisect.insort(index.tail, n, key=index.title_key)


# The index a search uses


_lock = threading.Lock()
_cache: dict[str, list[FacetIndex]] = {}  # engine URL → indexes, newest first
_building: set[str] = set()


def _changes(conn: Connection, since: int) -> list[Any]:
    return list(
        conn.execute(
            select(
                CatalogChange.seq,
                CatalogChange.version,
                CatalogChange.dataset_id,
                CatalogChange.organisation_id,
            )
            .where(CatalogChange.seq >= since)
            .order_by(CatalogChange.seq)
            .limit(DELTA_MAX + 1)
        )
    )


def _catch_up(
    conn: Connection, indexes: list[FacetIndex], seq: int, version: str
) -> FacetIndex | None:
    """The newest of ``indexes`` brought up to ``(seq, version)`` from the change log, or
    None when none of them can be (a rebuild is needed)."""
    usable = [i for i in indexes if i.seq < seq]
    if not usable:
        return None
    rows = _changes(conn, min(i.seq for i in usable))
    if len(rows) > DELTA_MAX:
        return None
    at = {r.seq: r.version for r in rows}
    for index in usable:  # newest first
        if index.seq and at.get(index.seq) != index.version:
            continue  # its base is not in this history (rolled back, or pruned)
        later = [r for r in rows if r.seq > index.seq]
        if any(r.dataset_id is None and r.organisation_id is None for r in later):
            return None  # a bulk write: rebuild
        changed = {r.dataset_id for r in later if r.dataset_id is not None}
        orgs = {r.organisation_id for r in later if r.organisation_id is not None}
        if orgs:
            changed |= set(conn.scalars(select(Dataset.id).where(Dataset.publisher_id.in_(orgs))))
        if len(changed) > DELTA_MAX:
            return None
        facts = _facts_rows(conn, sorted(changed)) if changed else []
        return apply(index, changed, facts, seq, version)
    return None


def _settle() -> None:
    """Keep the index out of the cyclic garbage collector's full passes.

    An index of 50,000 datasets is a few hundred thousand long-lived containers; a full
    collection traverses them all (about a second on a loaded machine), which showed as
    searches of 1–3 s in the benchmark. The index holds no reference cycles, so it needs no
    collector: young garbage is collected first, then everything alive is frozen (objects
    that later drop out are still freed by reference counting).
    """
    gc.collect(1)
    gc.freeze()


def get(session: Session, *, start_rebuild: bool = True) -> FacetIndex | None:
    """An index for the catalog exactly as this session sees it, or None while none can be
    had without a full build (one then runs in the background)."""
    conn = session.connection()
    engine = conn.engine
    key = str(engine.url)
    seq, version = state(conn)
    with _lock:
        indexes = list(_cache.get(key, []))
    for index in indexes:
        if index.seq == seq and index.version == version:
            return index
    found = _catch_up(conn, indexes, seq, version)
    if found is None:
        if start_rebuild:
            rebuild_in_background(engine)
        return None
    with _lock:
        kept = [found, *[i for i in _cache.get(key, []) if i is not found]][:KEPT]
        _cache[key] = kept
    _settle()
    if len(found.tail) > TAIL_MAX:
        rebuild_in_background(engine)
    return found


def get_or_build(session: Session) -> FacetIndex:
    """The index for this session, building it here when there is none (tests, the
    command line and benchmarks; requests use ``get``)."""
    found = get(session, start_rebuild=False)
    if found is not None:
        return found
    conn = session.connection()
    index = build(conn)
    with _lock:
        _cache[str(conn.engine.url)] = [index, *_cache.get(str(conn.engine.url), [])][:KEPT]
    _settle()
    return index


def rebuild_in_background(engine: Engine) -> None:
    """Start a full build on its own connection, unless one is running for ``engine``."""
    key = str(engine.url)
    with _lock:
        if key in _building:
            return
        _building.add(key)
    threading.Thread(target=_rebuild, args=(engine,), name="facet-index", daemon=True).start()


def _rebuild(engine: Engine) -> None:
    key = str(engine.url)
    try:
        with engine.connect() as conn:
            index = build(conn)
        with _lock:
            _cache[key] = [index, *_cache.get(key, [])][:KEPT]
        _settle()
    except Exception:  # the next search tries again; searches meanwhile use SQL
        log.exception("facet index build failed")
    finally:
        with _lock:
            _building.discard(key)


def clear() -> None:
    """Forget every index (tests that change how indexes are built)."""
    with _lock:
        _cache.clear()


# Facets, filters, pages


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
            out += first_in_title_order(index, mask, want - len(out))
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
        picked = first_in_title_order(index, ids, want)
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
    found = [index.uuids[i] for i in picked[offset:want]]
    return [u for u in found if u is not None]
