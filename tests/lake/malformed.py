"""Malformed uploads, by file name: every one must be refused whole, in plain words.

Generated here (deterministic, small) rather than stored as binary fixtures.
"""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq


def _parquet(names: list[str]) -> bytes:
    buf = io.BytesIO()
    table = pa.table([pa.array([1, 2]) for _ in names], names=names)
    pq.write_table(table, buf)
    return buf.getvalue()


def _xlsx(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _xlsx_bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"\x00" * (50 * 1024 * 1024))
    return buf.getvalue()


MALFORMED: dict[str, bytes] = {
    "unterminated_quote.csv": b'a,b\n1,2\n3,"never closed\n4,5\n',
    "ragged.csv": b"a,b\n1,2\n3,4,5\n6,7\n",
    "too_few.csv": b"a,b,c\n1,2,3\n4,5\n",
    "duplicate_header.csv": b"a,a,b\n1,2,3\n",
    "duplicate_header_case.csv": b"Navn;navn\nx;y\n",
    "empty_header.csv": b"a,,c\n1,2,3\n",
    "header_only_spaces.csv": b"a,  ,c\n1,2,3\n",
    "utf16.csv": "a,b\n1,æ\n".encode("utf-16"),
    "binary.csv": b"a,b\n\x00\x01\x02\x03,4\n",
    "empty.csv": b"",
    "broken.ndjson": b'{"a": 1}\n{"a": 2\n{"a": 3}\n',
    "not_json.json": b"[this is not json]",
    "truncated.json": b'[{"a": 1}, {"a": 2',
    "scalars.json": b"[1, 2, 3]",
    # nested deeper than a recursive parser goes (the diagnosis once answered 500)
    "deep.json": b"[" * 100_000 + b"]" * 100_000,
    "deep.ndjson": b'{"a": 1}\n' + b"[" * 100_000 + b"]" * 100_000 + b"\n",
    "nested.json": b'[{"a": {"b": 1}}]',
    "duplicate_keys.json": b'[{"a": 1, "A": 2}]',
    "truncated.parquet": _parquet(["a", "b"])[:60],
    "not_parquet.parquet": b"PAR1" + b"\x01" * 100,
    "duplicate_columns.parquet": _parquet(["x", "x"]),
    "truncated.xlsx": _xlsx([["a"], [1]])[:300],
    "not_xlsx.xlsx": b"PK\x03\x04" + b"\x00" * 50,
    "zip_bomb.xlsx": _xlsx_bomb(),
    "duplicate_header.xlsx": _xlsx([["a", "a"], [1, 2]]),
    "huge_line.csv": b"a,b\n1," + b"x" * (3 * 1024 * 1024) + b"\n",
}
