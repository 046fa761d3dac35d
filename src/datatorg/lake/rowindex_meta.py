"""The layout of a row index file, as its readers need it: the table and position column,
and ``Meta`` (which columns, stored how, which indexes, and how positions map to DuckDB's
``(file name, row number)``). Built by ``datatorg.lake.rowindex``.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass

FORMAT = 2  # 2: no direct identifiers or subject keys; the schema's time column
SHIFT = 1 << 40  # rows per file slot of the position
POS = "__datatorg_pos"
TABLE = "r"


@dataclass(frozen=True)
class Meta:
    """What an index file holds: its columns, their kinds, files, and indexes."""

    version_id: str
    kinds: dict[str, str]  # column -> text/int/real/bool/date/ts/dec<scale>
    types: dict[str, str]  # column -> DuckDB type name, as DuckDB reports it
    files: tuple[str, ...]  # base names of the version's files, in sorted order
    time: str | None
    keys: tuple[str, ...]
    indexes: dict[str, list[str]]  # index name -> ["k"] | ["k", "t"] | ["t"]
    descending: tuple[str, ...] = ()  # the indexes whose time column is in descending order

    def position(self, fname: str, rownum: int) -> int:
        """The position after which a cursor ``(fname, rownum)`` continues: rows in files
        named after ``fname``, or later rows of ``fname`` (DuckDB's keyset tie-break)."""
        i = bisect.bisect_left(self.files, fname)
        if i < len(self.files) and self.files[i] == fname:
            return i * SHIFT + min(max(rownum, -1), SHIFT - 1)
        return i * SHIFT - 1

    def identity(self, pos: int) -> tuple[str, int]:
        """The ``(file name, row number)`` of a position."""
        return self.files[pos // SHIFT], pos % SHIFT

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "version_id": self.version_id,
                "kinds": self.kinds,
                "types": self.types,
                "files": list(self.files),
                "time": self.time,
                "keys": list(self.keys),
                "indexes": self.indexes,
                "descending": list(self.descending),
            }
        )

    @classmethod
    def from_json(cls, raw: str) -> Meta:
        d = json.loads(raw)
        if d.get("format") != FORMAT:
            raise ValueError("row index of another format")
        return cls(
            version_id=d["version_id"],
            kinds=d["kinds"],
            types=d["types"],
            files=tuple(d["files"]),
            time=d["time"],
            keys=tuple(d["keys"]),
            indexes=d["indexes"],
            descending=tuple(d.get("descending", ())),
        )
