"""Turn one uploaded file into a staged Parquet file with types inferred over the whole file
(CSV and TSV in ``ingest_csv``; what the steps share in ``ingest_common``).

Formats: CSV/TSV (delimiter, quote and encoding detected: UTF-8, UTF-8 with BOM,
Windows-1252/Latin-1), JSON (an array of objects), NDJSON, Excel (xlsx, guarded against zip
bombs) and Parquet. Problems come back as ``IngestError`` with a list of located errors
(row, column, message); the caller deletes the staging folder, so nothing is half-stored.
"""

from __future__ import annotations

import csv
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from datatorg.lake import schema as ts
from datatorg.lake.ingest_common import (
    PARQUET_OPTIONS,
    ROW_GROUP_ROWS,
    IngestError,
    engine_message,
    lit,
    quote_ident,
)
from datatorg.lake.ingest_csv import check_text, csv_to_parquet

__all__ = ["IngestError", "Staged", "detect_format", "stage_file"]

FORMATS = ("csv", "tsv", "json", "ndjson", "xlsx", "parquet")
XLSX_MAX_RATIO = 100
XLSX_MAX_UNCOMPRESSED = 1024**3


@dataclass
class Staged:
    path: Path
    row_count: int
    schema: dict[str, Any]
    report: dict[str, Any] = field(default_factory=dict)


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
        check_text(fh.read(64 * 1024))
    kind = "array" if fmt == "json" else "newline_delimited"
    try:
        rel = con.sql(
            f"SELECT * FROM read_json({lit(str(src))}, format={lit(kind)}, "
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
            report |= csv_to_parquet(con, src, out, fmt, work)
        elif fmt == "xlsx":
            as_csv = work / "sheet.csv"
            _xlsx_to_csv(src, as_csv)
            report |= csv_to_parquet(con, as_csv, out, "csv", work)
        elif fmt in ("json", "ndjson"):
            _json_to_parquet(con, src, out, fmt)
        elif fmt == "parquet":
            try:
                con.execute(
                    f"COPY (SELECT * FROM read_parquet({lit(str(src))})) TO {lit(str(out))} "
                    f"({PARQUET_OPTIONS})"
                )
            except duckdb.Error as exc:
                raise IngestError(
                    "The Parquet file is damaged or truncated: " + engine_message(str(exc))
                ) from None
        else:
            raise IngestError(f"Unsupported format {fmt!r}; use one of {', '.join(FORMATS)}")
        rel = con.sql(f"SELECT * FROM read_parquet({lit(str(out))})")
        columns = [(n, str(t)) for n, t in zip(rel.columns, rel.types, strict=True)]
        rows = int(
            con.execute(f"SELECT count(*) FROM read_parquet({lit(str(out))})").fetchall()[0][0]
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
