"""Case-insensitive text matching that folds æ/ø/å (and every other letter) the same way on
SQLite and PostgreSQL.

SQLite's ``lower()`` folds ASCII only ("Østfold" never matches "østfold"); PostgreSQL's
``lower()`` folds by the database's character type. So every case-insensitive comparison in
the control plane goes through ``fold(expr)``: on PostgreSQL it is ``lower(expr)``, on SQLite
the function ``dtg_fold`` that the engine registers on each connection (``fold_text``), which
lowers each character exactly as PostgreSQL does under a UTF-8 locale (glibc's ``towlower``:
one character to one, "İ" to "i"). The database must use a UTF-8 locale other than "C"
(``C.UTF-8``, ``nb_NO.UTF-8``, …); ``tests/test_text_matching.py`` checks both engines.

    stmt.where(text.contains(Organisation.name, q))
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

SQLITE_FUNCTION = "dtg_fold"
# Where Python's lowercase of one character is not glibc's (Python: two characters).
_SPECIAL = {"İ": "i"}


def fold_text(value: str) -> str:
    """``value`` lowered character by character, as PostgreSQL's ``lower()`` does."""
    out = []
    for ch in value:
        low = _SPECIAL.get(ch) or ch.lower()
        out.append(low if len(low) == 1 else ch)
    return "".join(out)


def sqlite_fold(value: Any) -> Any:
    """The SQLite function: text folded, anything else as it is (NULL stays NULL)."""
    return fold_text(value) if isinstance(value, str) else value


class fold(FunctionElement[str]):  # noqa: N801 - reads like the SQL function it is
    """``fold(column)``: the text lowered the same way on both databases."""

    type = String()
    name = "fold"
    inherit_cache = True


@compiles(fold)
def _fold_default(element: fold, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(fold, "sqlite")
def _fold_sqlite(element: fold, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{SQLITE_FUNCTION}({compiler.process(element.clauses, **kw)})"


def like_pattern(needle: str) -> str:
    """``%needle%`` folded, with ``\\``, ``%`` and ``_`` escaped (use ``escape="\\\\"``)."""
    safe = fold_text(needle).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{safe}%"


def contains(expr: Any, needle: str) -> ColumnElement[bool]:
    """``expr`` contains ``needle``, whatever the letter case."""
    return fold(expr).like(like_pattern(needle), escape="\\")
