"""The shape of a demo dataset's contents and the helpers its queries share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Col:
    """One column: name, Table Schema type, Norwegian title, unit, role, description."""

    name: str
    type: str
    title: str = ""
    unit: str = ""
    role: str = ""
    description: str = ""

    def change(self) -> dict[str, Any]:
        """What the publisher would set for this column in the upload's review step."""
        out: dict[str, Any] = {"name": self.name}
        for key in ("title", "unit", "role", "description"):
            value = getattr(self, key)
            if value:
                out[key] = value
        return out


@dataclass(frozen=True)
class Contents:
    """A dataset's generated contents: columns and the query that makes its rows."""

    slug: str
    columns: tuple[Col, ...]
    query: Callable[[bool], str]  # small → DuckDB SELECT giving exactly ``columns``

    def sql(self, *, small: bool = False) -> str:
        return self.query(small)

    def changes(self) -> dict[str, Any]:
        return {"fields": [c.change() for c in self.columns]}


def u(expr: str) -> str:
    """Hash-based noise in [0, 1) for ``expr``: deterministic, no random state."""
    return f"((hash({expr}) % 1000000) / 1000000.0)"


def pick(values: list[str], expr: str) -> str:
    """The value of ``values`` chosen by the integer ``expr`` (modulo its length)."""
    items = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"[{items}][CAST((({expr}) % {len(values)}) AS BIGINT) + 1]"


def table(rows: list[tuple[Any, ...]], names: str) -> str:
    """A ``(VALUES …) t(names)`` clause from Python tuples (strings quoted)."""

    def lit(v: Any) -> str:
        if v is None:
            return "NULL"
        if isinstance(v, bool):
            return "TRUE" if v else "FALSE"
        if isinstance(v, str):
            return "'" + v.replace("'", "''") + "'"
        return repr(v)

    body = ", ".join("(" + ", ".join(lit(v) for v in row) + ")" for row in rows)
    return f"(VALUES {body}) {names}"


def span(small: bool, full: int, short: int) -> int:
    """How many steps (hours, days, months, years) a series has."""
    return short if small else full
