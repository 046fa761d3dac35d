"""CSV and TSV to Parquet: encoding (UTF-8, BOM, Windows-1252/Latin-1), delimiter and quote
detection, whole-file type inference by DuckDB, located errors, decimal commas, and codes
written with leading zeros kept as text."""

from __future__ import annotations

import codecs
import csv
from pathlib import Path
from typing import Any

import duckdb

from datatorg.lake.ingest_common import (
    MAX_ERRORS,
    MAX_LINE_BYTES,
    PARQUET_OPTIONS,
    IngestError,
    engine_message,
    lit,
    quote_ident,
)


def check_text(head: bytes) -> None:
    """Refuse UTF-16 and binary content early (the engine would misread it)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
        raise IngestError(
            "The file is not text in UTF-8 or Windows-1252 (it looks like UTF-16 or binary). "
            "Save it as UTF-8 and upload again."
        )


def _transcode(source: Path, target: Path) -> None:
    """Rewrite a Windows-1252 (or Latin-1) file as UTF-8, streaming."""
    try:
        _recode(source, target, "cp1252")
    except UnicodeDecodeError:
        _recode(source, target, "latin-1")


def _recode(source: Path, target: Path, encoding: str) -> None:
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    with source.open("rb") as src, target.open("w", encoding="utf-8", newline="") as dst:
        while chunk := src.read(1 << 20):
            dst.write(decoder.decode(chunk))
        dst.write(decoder.decode(b"", final=True))


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


def _diagnose_csv(path: Path, delim: str, quote: str) -> list[dict[str, Any]]:
    """Find the first rows that break the table shape (only run when the engine refused)."""
    errors: list[dict[str, Any]] = []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter=delim, quotechar=quote, strict=True)
        try:
            header = next(reader)
        except (StopIteration, csv.Error) as exc:
            return [{"row": 0, "message": f"no readable header line: {exc}"}]
        try:
            for row in reader:
                if len(row) != len(header) and row:
                    errors.append(
                        {
                            "row": reader.line_num - 1,
                            "line": reader.line_num,
                            "message": f"expected {len(header)} columns, found {len(row)}",
                        }
                    )
                    if len(errors) >= MAX_ERRORS:
                        break
        except csv.Error as exc:
            errors.append(
                {"line": reader.line_num, "message": f"unreadable CSV (truncated?): {exc}"}
            )
    return errors


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
    encoding = "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
    if not _is_utf8(head):  # the engine may skip a header it cannot decode: recode first
        utf8 = work / "source.utf8.csv"
        _transcode(src, utf8)
        src, encoding = utf8, "windows-1252"
    delim, quote = _sniff(src, fmt)
    for attempt in range(2):
        try:
            keep_text = _leading_zero_columns(con, src, delim, quote)
            rejects = _copy_csv(con, src, out, delim, quote, 20480, keep_text)
            unicode_bad = any("unicode" in str(r[3]).lower() for r in rejects)
            if not unicode_bad and any(r[2] == "CAST" for r in rejects):
                # the sample's types failed
                rejects = _copy_csv(con, src, out, delim, quote, -1, keep_text)
        except duckdb.Error as exc:
            text = str(exc)
            if "unicode" in text.lower() and attempt == 0:
                unicode_bad, rejects = True, []
            else:
                errors = _diagnose_csv(src, delim, quote) if "sniff" in text.lower() else []
                raise IngestError(
                    "The file could not be read as CSV: " + engine_message(text), errors or None
                ) from None
        if unicode_bad and attempt == 0 and encoding != "windows-1252":
            utf8 = work / "source.utf8.csv"
            _transcode(src, utf8)
            src, encoding = utf8, "windows-1252"
            continue
        if rejects:
            raise IngestError(
                f"{len(rejects)} row(s) could not be read",
                [_reject_error(r) for r in rejects],
            )
        break
    if delim in (";", "\t"):
        _decimal_commas(con, out, work)
    return {"encoding": encoding, "delimiter": delim, "quote": quote}


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


def _reject_error(r: tuple[Any, ...]) -> dict[str, Any]:
    line, column, kind, message = r
    out: dict[str, Any] = {"row": int(line) - 1, "line": int(line), "message": message}
    if kind == "LINE SIZE OVER MAXIMUM":
        out["message"] = f"a line is longer than {MAX_LINE_BYTES} bytes"
    if column:
        out["column"] = column
    return out
