"""An in-process index of the published catalog for fast facets, filters and sorting, kept
live from the catalog's change log.

Everything a published-catalog search does — matching the search document's stems, facet
filters and counts, sorting, relevance (``facet_query``) — runs on this index as bitmask
operations on Python integers, the same on SQLite and PostgreSQL. Datasets are numbered;
every facet value and stem is a bitmask of numbers (a list, for rare stems). A full build
numbers the published datasets in title order: the first page in title order is the lowest
set bits.

**Live.** Every catalog write counts up ``catalog_state.seq`` and lists the datasets (or
organisations) it changed in ``catalog_changes`` (``models.bump``). A search reads the
current ``seq``; when the index is behind, it reads the changes since and applies them: a
changed dataset loses its old number (its bits are cleared) and, if still published, gets a
new number at the end (the *tail*, kept in title order and in each sort order beside the
numbered part, by its place among the build's numbers). Changes are applied to a new version
(copy-on-write), so searches running meanwhile keep a consistent index; it shares all the
change does not touch (``bitsets.Shards``, ``bitsets.WordMap``, append-only number lists), so
a write costs what the changed datasets cost — well under a millisecond for one — whatever
the catalog's size. It is visible to the next search of every worker (each has its index).

**No rebuild in a request.** A full build (seconds at 50,000 datasets) runs only in a
background thread: when a process has no index yet, when the tail grows past ``TAIL_MAX``
(the numbering is then redone), after a bulk write that did not list its datasets, or when
the index cannot be caught up (its base was rolled back, or the log was pruned). Until
then searches are answered in SQL alone (``finder._search_sql``: identical pages, facets).
"""

from __future__ import annotations

import bisect
import gc
import logging
import threading
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session

from datatorg.catalog import facet_facts, search
from datatorg.catalog.bitsets import Shards, WordMap, to_mask
from datatorg.catalog.facet_facts import MULTI, ORDER_KEYS, Facts, title_key
from datatorg.catalog.models import (  # noqa: F401 - bump is re-exported for writers
    CatalogChange,
    Dataset,
    bump,
)

log = logging.getLogger("datatorg.catalog.facet_index")

SINGLE = ("publisher", "access_rights", "license", "classification")
SPARSE = 64  # title words in fewer datasets are kept as lists, not 6 KiB bitmasks
TAIL_MAX = 2000  # datasets renumbered at the end before a background rebuild
DELTA_MAX = 5000  # changed datasets beyond which catching up waits for a rebuild
KEPT = 4  # indexes kept per database (a rolled-back write leaves its base usable)
Entry = tuple[int, tuple[Any, ...], int]  # (place in the build's order, sort key, number)
Counts = dict[str, list[tuple[str, int]]]  # facet → (value, count), most frequent first


@dataclass
class FacetIndex:
    """Published datasets numbered; sets of them are int bitmasks.

    Numbers below ``sorted_until`` were given by the last full build, in title order; later
    numbers go to datasets written since (the *tail*). ``uuids`` and ``facts`` only grow, and
    are shared with the versions that caught up from this one (numbers below ``size`` are
    this version's); a number that leaves (its dataset changed or was retired) keeps its
    entries and just drops out of ``alive``.
    """

    seq: int
    version: str
    size: int = 0
    uuids: list[uuid.UUID] = field(default_factory=list)
    facts: list[Facts] = field(default_factory=list)
    number: Shards[int] = field(default_factory=Shards)  # uuid hex → number, alive only
    alive: int = 0
    sorted_until: int = 0
    tail: list[Entry] = field(default_factory=list)  # tail numbers, in title order
    by: dict[str, dict[str, int]] = field(default_factory=dict)
    order: dict[str, list[int]] = field(default_factory=dict)  # the build's numbers, per sort
    order_tail: dict[str, list[Entry]] = field(default_factory=dict)  # tail numbers, per sort
    title: WordMap = field(default_factory=lambda: WordMap.empty(SPARSE))  # title stems
    text: WordMap = field(default_factory=lambda: WordMap.empty(SPARSE))  # document stems
    counted: dict[int, Counts] = field(default_factory=dict)  # keyword size → counts of all

    @property
    def all(self) -> int:
        return self.alive

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

    def title_entry(self, f: Facts, n: int) -> Entry:
        """Where number ``n`` (dataset ``f``) goes among the build's numbers in title order."""
        key = title_key(f)
        at = bisect.bisect_left(
            range(self.sorted_until), key, key=lambda m: title_key(self.facts[m])
        )
        return (at, key, n)

    def order_entry(self, sort: str, f: Facts, n: int) -> Entry:
        """Where number ``n`` goes among the build's numbers in the order ``sort``."""
        order_key = ORDER_KEYS[sort]
        key = order_key(f)
        at = bisect.bisect_left(self.order[sort], key, key=lambda m: order_key(self.facts[m]))
        return (at, key, n)


def build(conn: Connection) -> FacetIndex:
    """Read the published catalog into a new index (numbers in title order)."""
    seq, version = facet_facts.state(conn)
    rows = sorted(facet_facts.read(conn, None), key=title_key)
    size = len(rows)
    index = FacetIndex(seq=seq, version=version, size=size, sorted_until=size)
    sets: dict[str, dict[str, list[int]]] = {f: {} for f in (*SINGLE, *MULTI)}
    title: dict[str, list[int]] = {}
    text: dict[str, list[int]] = {}
    number: dict[str, int] = {}
    for n, f in enumerate(rows):
        index.uuids.append(f.id)
        index.facts.append(f)
        number[f.id.hex] = n
        for name, values in f.values.items():
            for value in values:
                sets[name].setdefault(value, []).append(n)
        for word in f.title_words:
            title.setdefault(word, []).append(n)
        for word in f.doc_words:
            text.setdefault(word, []).append(n)
    index.number = Shards.of(number)
    index.alive = (1 << size) - 1
    index.by = {f: {v: to_mask(ns, size) for v, ns in vs.items()} for f, vs in sets.items()}
    index.title = WordMap.of(title, size, SPARSE)
    index.text = WordMap.of(text, size, SPARSE)
    for name, key in ORDER_KEYS.items():
        index.order[name] = sorted(range(size), key=lambda n, k=key: k(rows[n]))  # type: ignore[misc]
        index.order_tail[name] = []
    return index


# Applying changes (copy-on-write: the old index stays valid for searches running on it)


def apply(
    index: FacetIndex, changed: set[uuid.UUID], facts: list[Facts], seq: int, version: str
) -> FacetIndex:
    """A new index: ``index`` with the datasets of ``changed`` replaced by ``facts`` (the
    published ones among them; the others drop out).

    The new version shares what it does not change: the build's orders and vocabularies,
    the number lists (it appends to them, unless a version other than ``index`` already
    did, when it takes its own copy), and every part of the maps it does not touch. So
    the cost is that of the changed datasets, not of the catalog. Callers hold the database's
    catch-up lock (two versions must not append to the same lists at once)."""
    uuids, known = index.uuids, index.facts
    if len(uuids) != index.size:  # another version grew them: this one branches off
        uuids, known = uuids[: index.size], known[: index.size]
    new = replace(
        index,
        seq=seq,
        version=version,
        uuids=uuids,
        facts=known,
        number=index.number.fork(),
        tail=list(index.tail),
        by=dict(index.by),
        order_tail={name: list(entries) for name, entries in index.order_tail.items()},
        title=index.title.fork(),
        text=index.text.fork(),
        counted={},
    )
    owned: set[str] = set()  # facets whose value map this version has copied
    for ds_id in changed:
        n = new.number.pop(ds_id.hex, None)
        if n is not None:
            _remove(new, n, owned)
    for f in facts:
        _add(new, f, owned)
    return new


def _values(index: FacetIndex, name: str, owned: set[str]) -> dict[str, int]:
    if name not in owned:
        index.by[name] = dict(index.by[name])
        owned.add(name)
    return index.by[name]


def _remove(index: FacetIndex, n: int, owned: set[str]) -> None:
    old = index.facts[n]
    bit = 1 << n
    index.alive &= ~bit
    for name, values in old.values.items():
        masks = _values(index, name, owned)
        for value in values:
            left = masks.get(value, 0) & ~bit
            if left:
                masks[value] = left
            else:
                masks.pop(value, None)
    index.title.remove(n, old.title_words)
    index.text.remove(n, old.doc_words)
    if n >= index.sorted_until:  # the build's orders keep their numbers; ``alive`` says
        _drop(index.tail, index.title_entry(old, n))
        for name in ORDER_KEYS:
            _drop(index.order_tail[name], index.order_entry(name, old, n))


def _drop(entries: list[Entry], entry: Entry) -> None:
    i = bisect.bisect_left(entries, entry)
    if i < len(entries) and entries[i] == entry:
        del entries[i]


def _add(index: FacetIndex, f: Facts, owned: set[str]) -> None:
    n = index.size
    bit = 1 << n
    index.uuids.append(f.id)
    index.facts.append(f)
    index.size += 1
    index.number[f.id.hex] = n
    index.alive |= bit
    for name, values in f.values.items():
        masks = _values(index, name, owned)
        for value in values:
            masks[value] = masks.get(value, 0) | bit
    index.title.add(n, f.title_words)
    index.text.add(n, f.doc_words)
    bisect.insort(index.tail, index.title_entry(f, n))
    for name in ORDER_KEYS:
        bisect.insort(index.order_tail[name], index.order_entry(name, f, n))


# The index a search uses


_lock = threading.Lock()
_cache: dict[str, list[FacetIndex]] = {}  # engine URL → indexes, newest first
_building: set[str] = set()
_catching: dict[str, threading.Lock] = {}  # engine URL → held while catching up


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
        facts = facet_facts.read(conn, sorted(changed)) if changed else []
        return apply(index, changed, facts, seq, version)
    return None


def _settle() -> None:
    """Keep a freshly built index out of the cyclic garbage collector's full passes.

    An index of 50,000 datasets is a few hundred thousand long-lived containers; a full
    collection traverses them all (about a second on a loaded machine), which showed as
    searches of 1–3 s in the benchmark. The index holds no reference cycles, so it needs no
    collector: young garbage is collected, then everything alive is frozen (what later drops
    out is still freed by reference counting). A catch-up makes only a few small objects, so
    it does not settle (that pass cost 25–50 ms when catch-ups copied the index)."""
    gc.collect(1)
    gc.freeze()


def _cached(key: str, seq: int, version: str) -> tuple[FacetIndex | None, list[FacetIndex]]:
    with _lock:
        indexes = list(_cache.get(key, []))
    for index in indexes:
        if index.seq == seq and index.version == version:
            return index, indexes
    return None, indexes


def get(session: Session, *, start_rebuild: bool = True) -> FacetIndex | None:
    """An index for the catalog exactly as this session sees it, or None while none can be
    had without a full build (one then runs in the background)."""
    conn = session.connection()
    engine = conn.engine
    key = str(engine.url)
    seq, version = facet_facts.state(conn)
    found, indexes = _cached(key, seq, version)
    if found is not None:
        return found
    with _lock:
        catching = _catching.setdefault(key, threading.Lock())
    with catching:  # one catch-up at a time; those waiting mostly find it done
        found, indexes = _cached(key, seq, version)
        if found is not None:
            return found
        found = _catch_up(conn, indexes, seq, version)
        if found is None:
            if start_rebuild:
                rebuild_in_background(engine)
            return None
        with _lock:
            kept = [found, *[i for i in _cache.get(key, []) if i is not found]][:KEPT]
            _cache[key] = kept
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
