"""Answering a search on the facet index: facet filters, facet counts, relevance and pages.

Everything here reads one version of the index (``facet_index.FacetIndex``) and never
changes it. Orders: the numbers of the last full build are in title order, and each sort
order of them is a list made by the build; numbers given since (the tail) carry their place
among the build's numbers, so a page is a merge of the two without comparing keys.
"""

from __future__ import annotations

from collections.abc import Iterator

from datatorg.catalog import search
from datatorg.catalog.bitsets import lowest, positions
from datatorg.catalog.facet_facts import ORDER_KEYS
from datatorg.catalog.facet_index import Counts, Entry, FacetIndex

SPARSE_PAGE = 1000  # a result this small is sorted whole instead of walking an order


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


def counts(index: FacetIndex, ids: int, keyword_size: int) -> Counts:
    """Facet counts over ``ids``, most frequent first, ties by value. Those of the whole
    catalog (a search without words or filters, such as the first page) are kept with the
    index version."""
    whole = ids == index.alive
    if whole and keyword_size in index.counted:
        return {name: list(rows) for name, rows in index.counted[keyword_size].items()}
    out: Counts = {}
    for name, values in index.by.items():
        found = [(v, (m & ids).bit_count()) for v, m in values.items()]
        rows = sorted(((v, n) for v, n in found if n), key=lambda r: (-r[1], r[0]))
        out[name] = rows[:keyword_size] if name == "keyword" else rows
    if whole:
        index.counted[keyword_size] = {name: list(rows) for name, rows in out.items()}
    return out


def first_in_title_order(index: FacetIndex, mask: int, k: int) -> list[int]:
    """The first ``k`` numbers of ``mask`` in title order: the lowest bits of the build's
    numbers, merged with the tail's members at their places."""
    head = lowest(mask & ((1 << index.sorted_until) - 1), k)
    rest = mask >> index.sorted_until
    if not rest:
        return head
    base = index.sorted_until
    tail = [e for e in index.tail if rest >> (e[2] - base) & 1]
    out: list[int] = []
    t = 0
    for m in head:  # build number m is at place m of the build's title order
        while t < len(tail) and tail[t][0] <= m and len(out) < k:
            out.append(tail[t][2])
            t += 1
        if len(out) >= k:
            return out
        out.append(m)
    if len(out) < k:  # the head held every build number of the mask: the rest of the tail
        out += [e[2] for e in tail[t : t + k - len(out)]]
    return out


def _in_order(index: FacetIndex, sort: str, ids: int) -> Iterator[int]:
    """The numbers of ``ids`` in the order ``sort``: the build's order list (numbers no
    longer alive are not in ``ids``) with the tail's entries at their places."""
    bits = ids.to_bytes((index.size + 7) // 8, "little")
    tail: list[Entry] = [e for e in index.order_tail[sort] if bits[e[2] >> 3] >> (e[2] & 7) & 1]
    t = 0
    for i, m in enumerate(index.order[sort]):
        while t < len(tail) and tail[t][0] <= i:
            yield tail[t][2]
            t += 1
        if bits[m >> 3] >> (m & 7) & 1:
            yield m
    for e in tail[t:]:
        yield e[2]


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
) -> list[int]:
    """One page of ``ids`` in the asked order (their numbers)."""
    want = offset + limit
    if sort == "relevance" and terms:
        picked = _relevance(index, ids, terms, want)
    elif sort in ("relevance", "title"):
        picked = first_in_title_order(index, ids, want)
    elif ids.bit_count() <= SPARSE_PAGE:
        key, facts = ORDER_KEYS[sort], index.facts
        picked = sorted(positions(ids), key=lambda n: key(facts[n]))[:want]
    else:
        picked = []
        for n in _in_order(index, sort, ids):
            picked.append(n)
            if len(picked) >= want:
                break
    return picked[offset:want]
