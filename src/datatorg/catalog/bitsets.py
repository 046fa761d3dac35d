"""Sets of dataset numbers as Python integers, and the two maps of the facet index that must
be cheap to change in a copy: ``Shards`` (a dict) and ``WordMap`` (words → sets).

The facet index is copy-on-write: a search that finds it behind applies the latest writes to
a new version while other searches keep using the old one. Copying a 50,000-entry dict for
that costs milliseconds and makes a large young object for the garbage collector, so these
maps are built to be *forked*: a fork shares everything with its parent, and the first write
to a part of it copies only that part.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

V = TypeVar("V")

PARTS = 256  # shards of a ``Shards`` map (at 50,000 keys, about 200 keys each)


def to_mask(numbers: Iterable[int], size: int) -> int:
    """The bitmask with ``numbers`` set."""
    buf = bytearray((size + 7) // 8)
    for n in numbers:
        buf[n >> 3] |= 1 << (n & 7)
    return int.from_bytes(buf, "little")


BITS = [tuple(j for j in range(8) if byte >> j & 1) for byte in range(256)]  # set bits of a byte


def positions(mask: int) -> list[int]:
    """The numbers set in ``mask``, ascending."""
    out: list[int] = []
    for i, byte in enumerate(mask.to_bytes((mask.bit_length() + 7) // 8, "little")):
        if byte:
            base = i * 8
            out.extend(base + j for j in BITS[byte])
    return out


def lowest(mask: int, k: int) -> list[int]:
    """The ``k`` lowest numbers set in ``mask``, ascending (a byte at a time: taking the
    lowest bit off a 6 KiB integer a thousand times cost 2 ms for page 50)."""
    out: list[int] = []
    if k <= 0 or not mask:
        return out
    for i, byte in enumerate(mask.to_bytes((mask.bit_length() + 7) // 8, "little")):
        if byte:
            base = i * 8
            out.extend(base + j for j in BITS[byte])
            if len(out) >= k:
                return out[:k]
    return out


class Shards(Generic[V]):
    """A dict split by key hash into ``PARTS`` dicts. ``fork()`` copies only the list of
    parts; a write to the fork copies the one part it touches, once. A map that has been
    forked is read-only (its parts are shared)."""

    __slots__ = ("owned", "parts")

    def __init__(self, parts: list[dict[str, V]] | None = None) -> None:
        self.parts: list[dict[str, V]] = parts or [{} for _ in range(PARTS)]
        self.owned: set[int] | None = set() if parts else None  # None: every part is its own

    @classmethod
    def of(cls, items: dict[str, V]) -> Shards[V]:
        out: Shards[V] = cls()
        for key, value in items.items():
            out.parts[hash(key) % PARTS][key] = value
        return out

    def fork(self) -> Shards[V]:
        self.owned = set()  # from now on this map is shared: never write to it again
        return Shards(list(self.parts))

    def get(self, key: str, default: V | None = None) -> V | None:
        return self.parts[hash(key) % PARTS].get(key, default)

    def __contains__(self, key: str) -> bool:
        return key in self.parts[hash(key) % PARTS]

    def __setitem__(self, key: str, value: V) -> None:
        self._own(key)[key] = value

    def pop(self, key: str, default: V | None = None) -> V | None:
        return self._own(key).pop(key, default)

    def __len__(self) -> int:
        return sum(len(p) for p in self.parts)

    def values(self) -> Iterator[V]:
        for part in self.parts:
            yield from part.values()

    def _own(self, key: str) -> dict[str, V]:
        i = hash(key) % PARTS
        if self.owned is not None and i not in self.owned:
            self.parts[i] = dict(self.parts[i])
            self.owned.add(i)
        return self.parts[i]


class WordMap:
    """Words → the datasets holding them: a bitmask, or for rare words (fewer than
    ``sparse`` datasets) a list of numbers. The vocabulary is kept sorted for prefix lookups:
    the words of the last full build (shared by every later version, never changed) and the
    words first seen since (``extra``, small). A word that loses its last dataset stays in the
    vocabulary and simply finds nothing."""

    __slots__ = ("extra", "sparse", "vocab", "words")

    def __init__(
        self, words: Shards[int | list[int]], vocab: list[str], extra: list[str], sparse: int
    ) -> None:
        self.words = words
        self.vocab = vocab
        self.extra = extra
        self.sparse = sparse

    @classmethod
    def of(cls, postings: dict[str, list[int]], size: int, sparse: int) -> WordMap:
        words = {w: ns if len(ns) < sparse else to_mask(ns, size) for w, ns in postings.items()}
        return cls(Shards.of(words), sorted(words), [], sparse)

    @classmethod
    def empty(cls, sparse: int) -> WordMap:
        return cls(Shards(), [], [], sparse)

    def fork(self) -> WordMap:
        return WordMap(self.words.fork(), self.vocab, list(self.extra), self.sparse)

    def mask(self, words: Iterable[str], size: int) -> int:
        out, rare = 0, []
        for word in words:
            found = self.words.get(word)
            if found is None:
                continue
            if isinstance(found, list):
                rare += found
            else:
                out |= found
        return out | to_mask(rare, size) if rare else out

    def prefixed(self, prefix: str) -> list[str]:
        return _prefixed(self.vocab, prefix) + _prefixed(self.extra, prefix)

    def add(self, n: int, words: Iterable[str]) -> None:
        bit = 1 << n
        for word in words:
            found = self.words.get(word)
            if found is None:
                if not (_has(self.vocab, word) or _has(self.extra, word)):
                    bisect.insort(self.extra, word)
                self.words[word] = [n]
            elif isinstance(found, list):
                grown = [*found, n]
                self.words[word] = grown if len(grown) < self.sparse else to_mask(grown, n + 1)
            else:
                self.words[word] = found | bit

    def remove(self, n: int, words: Iterable[str]) -> None:
        bit = 1 << n
        for word in words:
            found = self.words.get(word)
            if found is None:
                continue
            rest = [m for m in found if m != n] if isinstance(found, list) else found & ~bit
            if rest:
                self.words[word] = rest
            else:
                self.words.pop(word)


def _prefixed(vocab: list[str], prefix: str) -> list[str]:
    i = bisect.bisect_left(vocab, prefix)
    j = i
    while j < len(vocab) and vocab[j].startswith(prefix):
        j += 1
    return vocab[i:j]


def _has(vocab: list[str], word: str) -> bool:
    i = bisect.bisect_left(vocab, word)
    return i < len(vocab) and vocab[i] == word
