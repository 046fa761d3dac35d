"""CSV and TSV to Parquet: encoding (UTF-8, BOM, else detected and recoded: ``ingest_encoding``),
delimiter and quote detection, column names checked as written, whole-file type inference by
DuckDB, located errors in plain words (``ingest_errors``), decimal commas, and codes written
with leading zeros kept as text."""

from __future__ import annotations

import codecs
import csv
import re
from pathlib import Path
from typing import Any

import duckdb

from datatorg.lake import ingest_encoding, missing, subject_no
from datatorg.lake import ingest_errors as err
from datatorg.lake.ingest_common import (
    MAX_ERRORS,
    MAX_LINE_BYTES,
    PARQUET_OPTIONS,
    IngestError,
    check_width,
    lit,
    quote_ident,
)


def check_text(head: bytes) -> None:
    """Refuse UTF-16 and binary content early (the engine would misread it)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
        raise err.not_text()


def _is_utf8(head: bytes) -> bool:
    cut = head.rfind(b"\n") if len(head) == 64 * 1024 else len(head)
    try:
        head[: cut if cut > 0 else len(head)].decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _sniff(path: Path, fmt: str) -> tuple[str, str]:
    with path.open("rb") as fh:
        head = fh.read(64 * 1024)
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    if fmt == "tsv":
        return "\t", '"'
    lines = text.splitlines()[:50]
    if len(lines) > 1 and not text.endswith("\n"):
        lines = lines[:-1]  # a cut-off last line would mislead the sniffer
    try:
        dialect = csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|")
        return dialect.delimiter, dialect.quotechar or '"'
    except csv.Error:
        first = lines[0] if lines else ""
        best = max(",;\t|", key=first.count)
        return (best if first.count(best) else ","), '"'


def _check_header_width(path: Path, delim: str, quote: str) -> None:
    """Count the header's columns before the engine types the whole file (a 168 KB file of
    20,000 columns took the engine 768 MB and 16 s to type)."""
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as fh:
        try:
            header = next(csv.reader(fh, delimiter=delim, quotechar=quote))
        except (StopIteration, csv.Error):
            return  # the engine's read says what is wrong
    check_width(len(header))


def _diagnose_csv(path: Path, delim: str, quote: str) -> list[dict[str, Any]]:
    """Find the first rows that break the table shape (only run when the engine refused)."""
    errors: list[dict[str, Any]] = []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter=delim, quotechar=quote, strict=True)
        try:
            header = next(reader)
        except StopIteration:
            raise err.no_header() from None
        except csv.Error as exc:
            return [
                err.line_too_long(1) if "field larger" in str(exc) else err.unterminated_quote(1)
            ]
        try:
            for row in reader:
                if len(row) != len(header) and row:
                    line = reader.line_num
                    errors.append(err.wrong_count(line - 1, line, len(header), len(row)))
                    if len(errors) >= MAX_ERRORS:
                        break
        except csv.Error as exc:  # its text only chooses the message
            if "field larger" in str(exc):
                errors.append(err.line_too_long(reader.line_num))
            else:
                errors.append(err.unterminated_quote(_line_of_open_quote(path, quote)))
    return errors


def long_values(
    path: Path, delim: str, quote: str, names: list[str], limit: int = MAX_LINE_BYTES
) -> list[dict[str, Any]]:
    """The values longer than ``limit`` bytes, each with its row, line and column (only run
    when the engine refused a line as too long). One streaming pass that looks only at
    delimiters, quotes and line ends, so a 30 MB value costs no 30 MB parse."""
    token = re.compile("[" + re.escape(delim + quote) + "\n]")
    found: list[dict[str, Any]] = []
    inside, size, column, row, line, start = False, 0, 0, 0, 1, 1

    def end_value() -> None:
        if size > limit and row > 0 and len(found) < MAX_ERRORS:
            name = names[column].strip() if column < len(names) else str(column + 1)
            found.append(err.value_too_long(row, start, name, size))

    with path.open(encoding="utf-8-sig", errors="replace", newline="") as fh:
        while chunk := fh.read(1024 * 1024):
            at = 0
            for hit in token.finditer(chunk):
                size += len(chunk[at : hit.start()].encode())
                at = hit.end()
                char = hit.group()
                if char == quote:
                    inside = not inside  # a doubled quote toggles twice
                    continue
                if inside:
                    size += 1
                    line += char == "\n"
                    continue
                end_value()
                size, start = 0, line
                if char == delim:
                    column += 1
                else:
                    row, column, line = row + 1, 0, line + 1
                    start = line
            size += len(chunk[at:].encode())
    end_value()
    return found


def _too_long(path: Path, delim: str, quote: str, line: int | None) -> IngestError:
    """A line over the limit: the values that make it so, by row and column, when one
    value is the cause; else the line."""
    found = long_values(path, delim, quote, header_names(path, delim, quote))
    if found:
        return err.values_too_long(found)
    return err.refuse(err.not_a_table().message, err.line_too_long(line))


def _line_of_open_quote(path: Path, quote: str) -> int:
    """The line where the quote that is never closed opens (1-based)."""
    opened, inside = 1, False
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for number, text in enumerate(fh, start=1):
            if text.count(quote) % 2:
                inside = not inside
                if inside:
                    opened = number
    return opened


def header_names(path: Path, delim: str, quote: str) -> list[str]:
    """The column names as the header line writes them (the engine renames duplicates and
    names empty ones, so they are read here)."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter=delim, quotechar=quote, strict=True)
        try:
            return next(reader)
        except StopIteration:
            raise err.no_header() from None
        except csv.Error as exc:  # its text only chooses the message
            found = (
                err.line_too_long(1) if "field larger" in str(exc) else err.unterminated_quote(1)
            )
            raise err.refuse(err.not_a_table().message, found) from None


def check_names(names: list[str], *, positions: bool = True) -> None:
    """Refuse column names that are empty, over-long, the platform's own hidden column's
    (``lake/subject_no.py``) or used twice (letter case aside);
    ``positions``: the names come in order from a header line, so errors name the column."""
    errors: list[dict[str, Any]] = []
    seen: dict[str, list[int]] = {}
    for position, raw in enumerate(names, start=1):
        name = raw.strip()
        if not name:
            errors.append(err.unnamed_column(position))
        elif len(name) > 120:
            errors.append(err.long_column_name(position, name))
        elif subject_no.reserved(name):
            errors.append(err.reserved_column(position, name))
        else:
            seen.setdefault(name.casefold(), []).append(position)
    for found in seen.values():
        if len(found) > 1:
            where = found if positions else None
            errors.append(err.duplicate_column(names[found[0] - 1].strip(), where))
    if errors:
        raise err.columns_refused(errors)


def _rejects(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    return con.sql(
        "SELECT line, column_name, error_type, error_message FROM reject_errors "
        f"ORDER BY line LIMIT {MAX_ERRORS}"
    ).fetchall()


_LEADING_ZERO = r"[+-]?0[0-9]+"


LEADING_ZERO_SAMPLE = 20480


def _leading_zero_columns(
    con: duckdb.DuckDBPyConnection, src: Path, delim: str, quote: str
) -> list[str]:
    """Columns whose values in the first rows include a number written with a leading zero
    (``0301``, ``01234``): codes such as municipality numbers, postcodes and account
    numbers, which must stay text. Only a sample is read, so ingest stays one pass."""
    reader = (
        f"read_csv({lit(str(src))}, delim={lit(delim)}, quote={lit(quote)}, "
        f"escape={lit(quote)}, header=true, all_varchar=true, "
        f"max_line_size={MAX_LINE_BYTES}, ignore_errors=true)"
    )
    try:
        rel = con.sql(f"SELECT * FROM {reader} LIMIT {LEADING_ZERO_SAMPLE}")
        names = list(rel.columns)
        if not names:
            return []
        checks = ", ".join(
            f"bool_or(regexp_full_match({quote_ident(n)}, {lit(_LEADING_ZERO)}))" for n in names
        )
        found = con.sql(f"SELECT {checks} FROM rel").fetchall()[0]
    except duckdb.Error:
        return []  # the real read reports what is wrong with the file
    return [n for n, hit in zip(names, found, strict=True) if hit]


def _copy_csv(
    con: duckdb.DuckDBPyConnection,
    src: Path,
    out: Path,
    delim: str,
    quote: str,
    sample: int,
    text_columns: list[str] | None = None,
) -> list[tuple[Any, ...]]:
    con.execute("DROP TABLE IF EXISTS reject_errors; DROP TABLE IF EXISTS reject_scans")
    types = ""
    if text_columns:
        types = ", types={" + ", ".join(f"{lit(c)}: 'VARCHAR'" for c in text_columns) + "}"
    reader = (
        f"read_csv({lit(str(src))}, delim={lit(delim)}, quote={lit(quote)}, "
        f"escape={lit(quote)}, header=true, strict_mode=true, store_rejects=true, "
        f"max_line_size={MAX_LINE_BYTES}, sample_size={sample}, null_padding=false{types})"
    )
    con.execute(f"COPY (SELECT * FROM {reader}) TO {lit(str(out))} ({PARQUET_OPTIONS})")
    return _rejects(con)


def csv_to_parquet(
    con: duckdb.DuckDBPyConnection, src: Path, out: Path, fmt: str, work: Path
) -> dict[str, Any]:
    with src.open("rb") as fh:
        head = fh.read(64 * 1024)
    check_text(head)
    codec = "utf_8_sig" if head.startswith(codecs.BOM_UTF8) else "utf_8"
    if not _is_utf8(head):  # the engine may skip a header it cannot decode: recode first
        utf8 = work / "source.utf8.csv"
        codec, src = ingest_encoding.recode(src, utf8), utf8
    delim, quote = _sniff(src, fmt)
    names = header_names(src, delim, quote)
    check_names(names)
    _check_header_width(src, delim, quote)
    for attempt in range(2):
        try:
            keep_text = _leading_zero_columns(con, src, delim, quote)
            rejects = _copy_csv(con, src, out, delim, quote, 20480, keep_text)
            unicode_bad = any(r[2] in ("INVALID ENCODING", "INVALID UNICODE") for r in rejects)
            if not unicode_bad and any(r[2] == "CAST" for r in rejects):
                # the sample's types failed
                rejects = _copy_csv(con, src, out, delim, quote, -1, keep_text)
        except duckdb.Error as exc:
            text = str(exc)  # used to choose a message, never shown
            if "unicode" in text.lower() and attempt == 0:
                unicode_bad, rejects = True, []
            elif "Maximum line size" in text:
                raise _too_long(src, delim, quote, None) from None
            else:
                errors = _diagnose_csv(src, delim, quote)
                summary = err.not_a_table().message
                raise (err.refuse(summary, *errors) if errors else err.not_a_table()) from None
        if unicode_bad and attempt == 0 and codec.startswith("utf_8"):
            utf8 = work / "source.utf8.csv"
            codec, src = ingest_encoding.recode(src, utf8), utf8
            continue
        if rejects:
            too_long = [int(r[0]) for r in rejects if r[2] == "LINE SIZE OVER MAXIMUM"]
            if too_long:
                raise _too_long(src, delim, quote, too_long[0])
            raise err.rows_refused(len(rejects), [_reject_error(r, names) for r in rejects])
        break
    stored = [str(n) for n in con.sql(f"SELECT * FROM read_parquet({lit(str(out))})").columns]
    if stored != [n.strip() for n in names]:  # the engine changed a name: refuse, never rename
        raise err.not_a_table()
    if delim in (";", "\t"):
        _decimal_commas(con, out, work)
    report: dict[str, Any] = {
        "encoding": ingest_encoding.label(codec),
        "delimiter": delim,
        "quote": quote,
    }
    if proposal := missing.propose(con, out, delim):
        report["missing_values"] = proposal
    return report


_COMMA_NUMBER = r"-?[0-9]+(,[0-9]+)?"


def _decimal_commas(con: duckdb.DuckDBPyConnection, out: Path, work: Path) -> None:
    """Text columns that are numbers written with a decimal comma (``3,5``) become numbers."""
    src = f"read_parquet({lit(str(out))})"
    rel = con.sql(f"SELECT * FROM {src}")
    names = [n for n, t in zip(rel.columns, rel.types, strict=True) if str(t) == "VARCHAR"]
    convert = []
    for name in names:
        col = quote_ident(name)
        row = con.execute(
            f"SELECT count({col}), count(*) FILTER (WHERE regexp_full_match({col}, ?)), "
            f"count(*) FILTER (WHERE contains({col}, ',')) FROM {src}",
            [_COMMA_NUMBER],
        ).fetchall()[0]
        if row[0] > 0 and row[0] == row[1] and row[2] > 0:
            convert.append(name)
    if not convert:
        return
    select = ", ".join(
        f"CAST(replace({quote_ident(n)}, ',', '.') AS DOUBLE) AS {quote_ident(n)}"
        if n in convert
        else quote_ident(n)
        for n in rel.columns
    )
    fixed = work / "decimal.parquet"
    con.execute(f"COPY (SELECT {select} FROM {src}) TO {lit(str(fixed))} ({PARQUET_OPTIONS})")
    fixed.replace(out)


def _reject_error(r: tuple[Any, ...], names: list[str]) -> dict[str, Any]:
    """A row the engine refused, in plain words (the engine's own message is not shown)."""
    line, column, kind, _engine_text = r
    line = int(line)
    row = line - 1
    col = str(column) if column else None
    if kind == "LINE SIZE OVER MAXIMUM":
        return err.line_too_long(line)
    if kind in ("TOO MANY COLUMNS", "MISSING COLUMNS"):
        found = _count_values(_engine_text)
        return err.wrong_count(row, line, len(names), found)
    if kind == "UNQUOTED VALUE":
        return err.bad_quote(row, line, col)
    return err.unreadable_value(row, line, col)


def _count_values(engine_text: str) -> int:
    """How many values the refused row has (from "Expected …: 2 Found: 3")."""
    tail = str(engine_text).rsplit("Found:", 1)[-1].strip().split()
    return int(tail[0]) if tail and tail[0].isdigit() else 0
