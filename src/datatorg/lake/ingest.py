"""Turn one uploaded file into a staged Parquet file with types inferred over the whole file.

Formats: CSV/TSV (delimiter, quote and encoding detected: UTF-8, UTF-8 with BOM,
Windows-1252/Latin-1), JSON (an array of objects), NDJSON, Excel (xlsx, guarded against zip
bombs) and Parquet. Problems come back as ``IngestError`` with a list of located errors
(row, column, message); the caller deletes the staging folder, so nothing is half-stored.
"""

from __future__ import annotations

import codecs
import csv
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from datatorg.lake import schema as ts

FORMATS = ("csv", "tsv", "json", "ndjson", "xlsx", "parquet")
MAX_LINE_BYTES = 1024 * 1024
MAX_ERRORS = 20
# Small row groups let the engine skip most of a file for selective filters (min/max stats).
ROW_GROUP_ROWS = 16384
PARQUET_OPTIONS = f"FORMAT parquet, ROW_GROUP_SIZE {ROW_GROUP_ROWS}"
XLSX_MAX_RATIO = 100
XLSX_MAX_UNCOMPRESSED = 1024**3


class IngestError(Exception):
    """The file cannot be published; ``errors`` says where and why."""

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or [{"message": message}]


@dataclass
class Staged:
    path: Path
    row_count: int
    schema: dict[str, Any]
    report: dict[str, Any] = field(default_factory=dict)


def quote_ident(name: str) -> str:
    """A DuckDB identifier for a column name taken from a schema (never from a request)."""
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def detect_format(filename: str, head: bytes) -> str:
    """The upload's format, from its content first and its name second."""
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    name = filename.lower()
    for ext in FORMATS:
        if name.endswith("." + ext):
            return ext
    if name.endswith((".jsonl", ".ndjson")):
        return "ndjson"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"["):
        return "json"
    if stripped.startswith(b"{"):
        return "ndjson"
    return "csv"


def _check_text(head: bytes) -> None:
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
        f"read_csv({_lit(str(src))}, delim={_lit(delim)}, quote={_lit(quote)}, "
        f"escape={_lit(quote)}, header=true, all_varchar=true, "
        f"max_line_size={MAX_LINE_BYTES}, ignore_errors=true)"
    )
    try:
        rel = con.sql(f"SELECT * FROM {reader} LIMIT {LEADING_ZERO_SAMPLE}")
        names = list(rel.columns)
        if not names:
            return []
        checks = ", ".join(
            f"bool_or(regexp_full_match({quote_ident(n)}, {_lit(_LEADING_ZERO)}))" for n in names
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
        types = ", types={" + ", ".join(f"{_lit(c)}: 'VARCHAR'" for c in text_columns) + "}"
    reader = (
        f"read_csv({_lit(str(src))}, delim={_lit(delim)}, quote={_lit(quote)}, "
        f"escape={_lit(quote)}, header=true, strict_mode=true, store_rejects=true, "
        f"max_line_size={MAX_LINE_BYTES}, sample_size={sample}, null_padding=false{types})"
    )
    con.execute(f"COPY (SELECT * FROM {reader}) TO {_lit(str(out))} ({PARQUET_OPTIONS})")
    return _rejects(con)


def _csv_to_parquet(
    con: duckdb.DuckDBPyConnection, src: Path, out: Path, fmt: str, work: Path
) -> dict[str, Any]:
    with src.open("rb") as fh:
        head = fh.read(64 * 1024)
    _check_text(head)
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
    src = f"read_parquet({_lit(str(out))})"
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
    con.execute(f"COPY (SELECT {select} FROM {src}) TO {_lit(str(fixed))} ({PARQUET_OPTIONS})")
    fixed.replace(out)


def engine_message(text: str) -> str:
    """The engine's explanation without the echoed data (which may be personal)."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    keep = [ln for ln in lines[:4] if not ln.startswith(("Original Line", "Possible Solution"))]
    msg = " ".join(keep)
    if "Maximum line size" in msg:
        return f"{lines[0]}: a line is longer than {MAX_LINE_BYTES} bytes"
    return msg[:300]


def _reject_error(r: tuple[Any, ...]) -> dict[str, Any]:
    line, column, kind, message = r
    out: dict[str, Any] = {"row": int(line) - 1, "line": int(line), "message": message}
    if kind == "LINE SIZE OVER MAXIMUM":
        out["message"] = f"a line is longer than {MAX_LINE_BYTES} bytes"
    if column:
        out["column"] = column
    return out


def _check_xlsx(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except zipfile.BadZipFile:
        raise IngestError("The Excel file is damaged or truncated (not a valid zip).") from None
    total = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if not any(i.filename == "xl/workbook.xml" for i in infos):
        raise IngestError("The file is a zip archive but not an Excel workbook (xlsx).")
    if total > XLSX_MAX_UNCOMPRESSED or total / packed > XLSX_MAX_RATIO:
        raise IngestError(
            "The Excel file expands to far more than its size (a zip bomb?); refused."
        )


def _xlsx_to_csv(src: Path, out: Path) -> None:
    import openpyxl

    _check_xlsx(src)
    if src.suffix != ".xlsx":  # openpyxl goes by the name
        src = src.rename(src.with_name(src.name + ".xlsx"))
    try:
        wb = openpyxl.load_workbook(src, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for broken files
        raise IngestError(f"The Excel file could not be opened: {type(exc).__name__}") from None
    try:
        sheet = wb.worksheets[0]
        with out.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            for row in sheet.iter_rows(values_only=True):
                writer.writerow(["" if v is None else v for v in row])
    finally:
        wb.close()


def _json_to_parquet(con: duckdb.DuckDBPyConnection, src: Path, out: Path, fmt: str) -> None:
    with src.open("rb") as fh:
        _check_text(fh.read(64 * 1024))
    kind = "array" if fmt == "json" else "newline_delimited"
    try:
        rel = con.sql(
            f"SELECT * FROM read_json({_lit(str(src))}, format={_lit(kind)}, "
            "sample_size=-1, maximum_object_size=16777216)"
        )
        nested = [
            n
            for n, t in zip(rel.columns, rel.types, strict=True)
            if ts.table_type(str(t)) == "unsupported"
        ]
        if nested:
            raise IngestError(
                "Nested values are not supported; flatten these columns: " + ", ".join(nested),
                [{"column": n, "message": "nested value (object or list)"} for n in nested],
            )
        rel.write_parquet(str(out), row_group_size=ROW_GROUP_ROWS)
    except duckdb.Error as exc:
        raise IngestError(
            "The file could not be read as " + fmt.upper() + ": " + engine_message(str(exc))
        ) from None


def stage_file(src: Path, fmt: str, work: Path) -> Staged:
    """Read ``src`` (of format ``fmt``) into ``work/staged.parquet``."""
    out = work / "staged.parquet"
    con = duckdb.connect()
    report: dict[str, Any] = {"format": fmt}
    try:
        con.execute("SET preserve_insertion_order=true")
        if fmt in ("csv", "tsv"):
            report |= _csv_to_parquet(con, src, out, fmt, work)
        elif fmt == "xlsx":
            as_csv = work / "sheet.csv"
            _xlsx_to_csv(src, as_csv)
            report |= _csv_to_parquet(con, as_csv, out, "csv", work)
        elif fmt in ("json", "ndjson"):
            _json_to_parquet(con, src, out, fmt)
        elif fmt == "parquet":
            try:
                con.execute(
                    f"COPY (SELECT * FROM read_parquet({_lit(str(src))})) TO {_lit(str(out))} "
                    f"({PARQUET_OPTIONS})"
                )
            except duckdb.Error as exc:
                raise IngestError(
                    "The Parquet file is damaged or truncated: " + engine_message(str(exc))
                ) from None
        else:
            raise IngestError(f"Unsupported format {fmt!r}; use one of {', '.join(FORMATS)}")
        rel = con.sql(f"SELECT * FROM read_parquet({_lit(str(out))})")
        columns = [(n, str(t)) for n, t in zip(rel.columns, rel.types, strict=True)]
        rows = int(
            con.execute(f"SELECT count(*) FROM read_parquet({_lit(str(out))})").fetchall()[0][0]
        )
    finally:
        con.close()
    _check_columns(columns)
    schema = ts.infer(columns)
    report["rows"] = rows
    report["columns"] = len(columns)
    return Staged(path=out, row_count=rows, schema=schema, report=report)


def _check_columns(columns: list[tuple[str, str]]) -> None:
    errors = []
    seen: set[str] = set()
    for name, storage in columns:
        if not name.strip() or len(name) > 120:
            errors.append({"column": name[:120], "message": "empty or over-long column name"})
        if name.lower() in seen:
            errors.append({"column": name, "message": "duplicate column name"})
        seen.add(name.lower())
        if ts.table_type(storage) == "unsupported":
            errors.append({"column": name, "message": f"unsupported type {storage}"})
    if errors:
        raise IngestError("Some columns cannot be used", errors)


__all__ = ["FORMATS", "IngestError", "Staged", "detect_format", "quote_ident", "stage_file"]
