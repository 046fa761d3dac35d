"""Located problems (an upload's refused rows and columns) grouped the way a publisher reads
them: one line per kind of problem, with the rows and columns it was found in.

Each problem is a dict with ``message`` (already in the reader's language), and where there is
one a ``row``, ``line``, ``column`` and ``code``. Fifty rows with the same fault become one line
("… — rows 3, 5, 9 and 47 more"), not fifty.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

SHOWN_ROWS = 8


@dataclass
class Group:
    message: str
    rows: list[int] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)

    @property
    def shown_rows(self) -> list[int]:
        return self.rows[:SHOWN_ROWS]

    @property
    def more_rows(self) -> int:
        return max(0, len(self.rows) - SHOWN_ROWS)


def group(problems: Iterable[Mapping[str, Any]]) -> list[Group]:
    """The problems grouped by what is wrong (code, else message), in first-seen order."""
    found: dict[str, Group] = {}
    for p in problems:
        message = str(p.get("message") or "")
        key = str(p.get("code") or message)
        if p.get("column") is not None and p.get("row") is None:
            key += "\x00" + str(p["column"])  # a column's own fault is its own line
        g = found.setdefault(key, Group(message=message))
        row, line, column = p.get("row"), p.get("line"), p.get("column")
        if isinstance(row, int) and row not in g.rows:
            g.rows.append(row)
        if isinstance(line, int) and line not in g.lines:
            g.lines.append(line)
        if column is not None and str(column) not in g.columns:
            g.columns.append(str(column))
    return list(found.values())
