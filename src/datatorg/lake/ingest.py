"""Turn one uploaded file into a staged Parquet file with types inferred over the whole file
(CSV and TSV in ``ingest_csv``; what the steps share in ``ingest_common``).

Formats: CSV/TSV (delimiter, quote and encoding detected: UTF-8, UTF-8 with BOM,
or another Western European encoding, recoded), JSON (an array of objects), NDJSON, Excel
(xlsx, guarded against zip bombs) and Parquet. Column names are checked as the file writes
them: empty, over-long or repeated names are refused, never renamed. Problems come back as
``IngestError`` with located errors in plain words (``ingest_errors``); the caller deletes
the staging folder, so nothing is half-stored.
"""

from __future__ import annotations

import csv
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from datatorg.lake import duck, missing
from datatorg.lake import ingest_errors as err
from datatorg.lake import schema as ts
from datatorg.lake.ingest_common import (
    PARQUET_OPTIONS,
    ROW_GROUP_ROWS,
    IngestError,
    check_width,
    lit,
    quote_ident,
)
from datatorg.lake.ingest_csv import check_names, check_text, csv_to_parquet

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
        raise err.xlsx_damaged() from None
    total = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if not any(i.filename == "xl/workbook.xml" for i in infos):
        raise err.xlsx_not_workbook()
    if total > XLSX_MAX_UNCOMPRESSED or total / packed > XLSX_MAX_RATIO:
        raise err.xlsx_bomb()


def _xlsx_to_csv(src: Path, out: Path) -> None:
    import openpyxl

    _check_xlsx(src)
    if src.suffix != ".xlsx":  # openpyxl goes by the name
        src = src.rename(src.with_name(src.name + ".xlsx"))
    try:
        wb = openpyxl.load_workbook(src, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for broken files; none is shown
        raise err.xlsx_damaged() from None
    try:
        sheet = wb.worksheets[0]
        with out.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            for i, row in enumerate(sheet.iter_rows(values_only=True)):
                if i == 0:
                    check_width(len(row))
                writer.writerow(["" if v is None else v for v in row])
    except Exception:
        raise err.xlsx_damaged() from None
    finally:
        wb.close()


def _json_to_parquet(con: duckdb.DuckDBPyConnection, src: Path, out: Path, fmt: str) -> None:
    with src.open("rb") as fh:
        check_text(fh.read(64 * 1024))
    kind = "array" if fmt == "json" else "newline_delimited"
    reader = (
        f"read_json({lit(str(src))}, format={lit(kind)}, records=true, "
        "sample_size=-1, maximum_object_size=16777216)"
    )
    try:
        rel = con.sql(f"SELECT * FROM {reader}")
        names = [str(n) for n in rel.columns]
        if any(_looks_renamed(n) for n in names):  # the engine renames keys used twice
            check_names(_json_keys(con, src, kind), positions=False)
        check_width(len(names))
        nested = [
            n
            for n, t in zip(rel.columns, rel.types, strict=True)
            if ts.table_type(str(t)) == "unsupported"
        ]
        if nested:
            raise err.nested(nested)
        rel.write_parquet(str(out), row_group_size=ROW_GROUP_ROWS)
    except duckdb.Error as exc:
        raise _json_problem(src, fmt, str(exc)) from None


def _looks_renamed(name: str) -> bool:
    base, sep, digits = name.rpartition("_")
    return bool(sep and base and digits.isdigit())


def _json_keys(con: duckdb.DuckDBPyConnection, src: Path, kind: str) -> list[str]:
    """Every key of every object, as written (objects can differ: each key once)."""
    found = con.execute(
        "SELECT DISTINCT unnest(json_keys(json)) AS k FROM "
        f"read_json_objects({lit(str(src))}, format={lit(kind)}) ORDER BY k"
    ).fetchall()
    return [str(r[0]) for r in found]


JSON_DIAGNOSE_MAX_BYTES = 64 * 1024 * 1024
# The diagnosis needs the place of a syntax error and whether the items are objects, not the
# objects: each is parsed into this one marker (a 56 MB file of small records took 1.4 GB as
# dicts, ~100 MB so).
_RECORD = object()


def _json_problem(src: Path, fmt: str, engine_text: str) -> IngestError:
    """Why the engine refused a JSON or NDJSON file, found again here in plain words."""
    if "expected records" in engine_text or "non-record" in engine_text:
        return err.not_records()
    if fmt == "ndjson":
        with src.open("rb") as fh:
            for number, raw in enumerate(fh, start=1):
                if not raw.strip():
                    continue
                try:
                    value = json.loads(raw, object_pairs_hook=lambda _pairs: _RECORD)
                except RecursionError:  # nested deeper than any record
                    return err.not_records()
                except (ValueError, UnicodeDecodeError):
                    return err.ndjson_line(number)
                if value is not _RECORD:
                    return err.not_records()
        return err.unreadable(fmt)
    if src.stat().st_size <= JSON_DIAGNOSE_MAX_BYTES:
        try:
            value = json.loads(src.read_bytes(), object_pairs_hook=lambda _pairs: _RECORD)
        except json.JSONDecodeError as exc:
            return err.not_json(exc.lineno, exc.colno)
        except RecursionError:  # nested deeper than any list of records
            return err.not_records()
        except (ValueError, UnicodeDecodeError):
            return err.not_json(None, None)
        if not isinstance(value, list) or not all(v is _RECORD for v in value):
            return err.not_records()
        return err.unreadable(fmt)
    return err.not_json(None, None)


def stage_file(src: Path, fmt: str, work: Path) -> Staged:
    """Read ``src`` (of format ``fmt``) into ``work/staged.parquet``."""
    out = work / "staged.parquet"
    con = duck.connect()
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
            check_names(_parquet_names(src))
            try:
                check_width(len(con.sql(f"SELECT * FROM read_parquet({lit(str(src))})").columns))
                con.execute(
                    f"COPY (SELECT * FROM read_parquet({lit(str(src))})) TO {lit(str(out))} "
                    f"({PARQUET_OPTIONS})"
                )
            except duckdb.Error:
                raise err.parquet_damaged() from None
        else:
            raise err.unsupported_format(", ".join(FORMATS))
        rel = con.sql(f"SELECT * FROM read_parquet({lit(str(out))})")
        columns = [(n, str(t)) for n, t in zip(rel.columns, rel.types, strict=True)]
        rows = int(
            con.execute(f"SELECT count(*) FROM read_parquet({lit(str(out))})").fetchall()[0][0]
        )
    except duckdb.Error:  # any refusal not named above: plain words, no engine text
        raise err.unreadable(fmt) from None
    finally:
        con.close()
    _check_columns(columns)
    schema = ts.infer(columns)
    missing.mark_staged(schema, report.get("missing_values"))
    report["rows"] = rows
    report["columns"] = len(columns)
    return Staged(path=out, row_count=rows, schema=schema, report=report)


def _parquet_names(src: Path) -> list[str]:
    """The column names a Parquet file's footer writes (the engine renames repeated ones)."""
    import pyarrow.parquet as pq

    try:
        return [str(n) for n in pq.read_schema(src).names]
    except Exception:  # a damaged footer: pyarrow raises many kinds; none is shown
        raise err.parquet_damaged() from None


def _check_columns(columns: list[tuple[str, str]]) -> None:
    check_width(len(columns))
    check_names([name for name, _storage in columns])
    unsupported = [n for n, storage in columns if ts.table_type(storage) == "unsupported"]
    if unsupported:
        raise err.columns_refused([err.unsupported_column(n) for n in unsupported])


__all__ = ["FORMATS", "IngestError", "Staged", "detect_format", "quote_ident", "stage_file"]
