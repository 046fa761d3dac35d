"""What a publisher reads when a file is refused.

Plain words in bokmål or English (the request's language), with the row, line and column
where there is one; never a server path, an engine's text or a stack detail. Every located
error also carries a stable ``code`` for programs. The engine's own text is only used to
choose a message, never shown.
"""

from __future__ import annotations

from typing import Any

from datatorg.lake.ingest_common import MAX_LINE_BYTES, IngestError
from datatorg.web.i18n import current_locale
from datatorg.web.i18n import gettext as _

__all__ = ["IngestError", "problem", "refuse"]


def problem(
    code: str,
    message: str,
    *,
    row: int | None = None,
    line: int | None = None,
    column: str | None = None,
) -> dict[str, Any]:
    """One located error: what is wrong (``message``, already translated) and where."""
    out: dict[str, Any] = {"code": code}
    if row is not None:
        out["row"] = row
    if line is not None:
        out["line"] = line
    if column is not None:
        out["column"] = column
    out["message"] = message
    return out


def refuse(summary: str, *errors: dict[str, Any], code: str = "refused") -> IngestError:
    """The refusal of a whole file: a summary and its located errors (or the summary alone,
    under ``code``, when the problem has no place)."""
    return IngestError(summary, list(errors) or [problem(code, summary)])


def _locale_nb() -> bool:
    return current_locale() == "nb"


# CSV, TSV (and Excel, which is read as CSV)


def not_a_table() -> IngestError:
    return refuse(
        _(
            "The file could not be read as a table. Check that it has one header line and "
            "the same number of values on every line."
        ),
        code="not_a_table",
    )


def unterminated_quote(line: int) -> dict[str, Any]:
    return problem(
        "unterminated_quote",
        _(
            "A value in quotes is never closed, so the file may be cut off. Check the quotes "
            "from line %(line)s on."
        )
        % {"line": line},
        line=line,
    )


def wrong_count(row: int, line: int, expected: int, found: int) -> dict[str, Any]:
    return problem(
        "wrong_number_of_values",
        _("This row has %(found)s values; the header line has %(expected)s columns.")
        % {"found": found, "expected": expected},
        row=row,
        line=line,
    )


def line_too_long(line: int | None) -> dict[str, Any]:
    return problem(
        "line_too_long",
        _("A line is longer than %(mib)s MiB; is the file a table with one row per line?")
        % {"mib": MAX_LINE_BYTES // (1024 * 1024)},
        line=line,
    )


def value_too_long(row: int, line: int, column: str, size: int) -> dict[str, Any]:
    """One value longer than a line may be (``size`` in bytes)."""
    return problem(
        "value_too_long",
        _(
            "Row %(row)s, column %(column)s: the value is %(mb)s MB long; one value may be at "
            "most %(mib)s MiB. Shorten it, or keep the long text elsewhere and link to it."
        )
        % {
            "row": row,
            "column": repr(column),
            "mb": f"{size / 1_000_000:.1f}".replace(".", "," if _locale_nb() else "."),
            "mib": MAX_LINE_BYTES // (1024 * 1024),
        },
        row=row,
        line=line,
        column=column,
    )


def values_too_long(errors: list[dict[str, Any]]) -> IngestError:
    summary = _(
        "The file has values longer than %(mib)s MiB, the most one value may hold. "
        "Nothing was stored."
    ) % {"mib": MAX_LINE_BYTES // (1024 * 1024)}
    return refuse(summary, *errors)


def bad_quote(row: int, line: int, column: str | None) -> dict[str, Any]:
    return problem(
        "stray_quote",
        _("A quote character stands inside a value that is not in quotes."),
        row=row,
        line=line,
        column=column,
    )


def unreadable_value(row: int, line: int, column: str | None) -> dict[str, Any]:
    return problem(
        "unreadable_value",
        _("This value could not be read."),
        row=row,
        line=line,
        column=column,
    )


def rows_refused(count: int, errors: list[dict[str, Any]]) -> IngestError:
    summary = _("Rows that could not be read: %(n)s. Nothing was stored.") % {"n": count}
    return refuse(summary, *errors)


def no_header() -> IngestError:
    return refuse(_("The file has no header line with column names."), code="no_header")


def not_text() -> IngestError:
    return refuse(
        _(
            "The file is not text in UTF-8 or a Western European encoding (it looks like "
            "UTF-16 or binary). Save it as UTF-8 and upload again."
        ),
        code="not_text",
    )


# Column names


def duplicate_column(name: str, positions: list[int] | None) -> dict[str, Any]:
    """A name used twice (letter case aside); ``positions`` when the file has a header line."""
    if positions is None:
        message = _(
            "The name %(name)s is used for more than one column (letter case does not count); "
            "each column needs a name of its own. Rename them and upload again."
        ) % {"name": repr(name)}
    else:
        message = _(
            "The column name %(name)s is used more than once (columns %(positions)s; letter "
            "case does not count); each column needs a name of its own. Rename them and upload "
            "again."
        ) % {"name": repr(name), "positions": ", ".join(str(p) for p in positions)}
    return problem("duplicate_column", message, column=name)


def unnamed_column(position: int) -> dict[str, Any]:
    return problem(
        "unnamed_column",
        _("Column %(position)s has no name; give it one in the header line.")
        % {"position": position},
    )


def long_column_name(position: int, name: str) -> dict[str, Any]:
    return problem(
        "long_column_name",
        _("Column %(position)s has a name longer than 120 characters.") % {"position": position},
        column=name[:120],
    )


def reserved_column(position: int, name: str) -> dict[str, Any]:
    """A name the platform keeps for a hidden column of its own (``lake/subject_no.py``)."""
    return problem(
        "reserved_column",
        _(
            "Column %(position)s is named %(name)s, a name the platform keeps for its own use; "
            "rename the column and upload again."
        )
        % {"position": position, "name": repr(name.strip())},
        column=name[:120],
    )


def unsupported_column(name: str) -> dict[str, Any]:
    return problem(
        "unsupported_values",
        _(
            "This column holds values that cannot be stored (lists, objects or binary data); "
            "use text, numbers, dates or true/false."
        ),
        column=name,
    )


def columns_refused(errors: list[dict[str, Any]]) -> IngestError:
    return refuse(_("Some columns cannot be used; nothing was stored."), *errors)


# JSON and NDJSON


def not_json(line: int | None, char: int | None) -> IngestError:
    if line is None:
        summary = _("The file is not valid JSON.")
    else:
        summary = _(
            "The file is not valid JSON: the error is at line %(line)s, character %(char)s."
        ) % {
            "line": line,
            "char": char,
        }
    return refuse(summary, problem("not_json", summary, line=line))


def ndjson_line(line: int) -> IngestError:
    message = _("Line %(line)s is not one JSON object.") % {"line": line}
    return refuse(
        _("The file is not valid newline-delimited JSON (one object per line)."),
        problem("not_json", message, line=line),
    )


def not_records() -> IngestError:
    return refuse(
        _(
            'The file must hold one JSON object per row: an array like [{"a": 1}, {"a": 2}], '
            "or one object per line."
        ),
        code="not_records",
    )


def nested(columns: list[str]) -> IngestError:
    message = _("Nested values (objects or lists) cannot be stored; flatten this column.")
    return refuse(
        _("Some columns hold nested values; nothing was stored."),
        *[problem("nested_value", message, column=c) for c in columns],
    )


# Parquet and Excel


def parquet_damaged() -> IngestError:
    return refuse(_("The Parquet file is damaged or cut off."), code="damaged")


def xlsx_damaged() -> IngestError:
    return refuse(_("The Excel file is damaged or cut off."), code="damaged")


def xlsx_not_workbook() -> IngestError:
    return refuse(_("The file is a zip archive but not an Excel workbook (xlsx)."), code="not_xlsx")


def xlsx_bomb() -> IngestError:
    return refuse(
        _("The Excel file unpacks to far more than its size; it was refused."), code="zip_bomb"
    )


def unsupported_format(formats: str) -> IngestError:
    return refuse(
        _("This file format is not supported; use one of %(formats)s.") % {"formats": formats}
    )


def unreadable(fmt: str) -> IngestError:
    """The last resort when an engine refused a file for a reason not named above."""
    return refuse(
        _("The file could not be read as %(format)s. Check that it is saved in that format.")
        % {"format": fmt.upper()},
        code="unreadable",
    )


# Checking a file against a dataset's schema (appends, retyped columns)


def missing_column(name: str) -> dict[str, Any]:
    return problem(
        "missing_column", _("This column of the dataset is missing from the file."), column=name
    )


def extra_column(name: str) -> dict[str, Any]:
    return problem("extra_column", _("This column is not in the dataset's schema."), column=name)


def wrong_type(row: int, column: str, value: str, ttype: str) -> dict[str, Any]:
    sentences = {
        "string": _("The value %(value)s is not text."),
        "integer": _("The value %(value)s is not a whole number."),
        "number": _("The value %(value)s is not a number."),
        "boolean": _("The value %(value)s is not true or false."),
        "date": _("The value %(value)s is not a date."),
        "datetime": _("The value %(value)s is not a date and time."),
        "time": _("The value %(value)s is not a time of day."),
    }
    sentence = sentences.get(ttype, _("The value %(value)s does not fit the column's type."))
    return problem("wrong_type", sentence % {"value": repr(value[:40])}, row=row, column=column)


def does_not_fit(errors: list[dict[str, Any]]) -> IngestError:
    return refuse(_("The file does not fit the dataset's schema; nothing was published."), *errors)


def key_not_unique(column: str, repeated: int, empty: int) -> dict[str, Any]:
    """The unique key column has repeated or empty values (counted, never shown)."""
    return problem(
        "key_not_unique",
        _(
            "A unique key column needs a different value on every row; this one has "
            "%(repeated)s repeated and %(empty)s empty values."
        )
        % {"repeated": repeated, "empty": empty},
        column=column,
    )
