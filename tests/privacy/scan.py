"""Scan everything the platform keeps for traces of a subject: every file under the lake and
every value of every control-plane table."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import MetaData, select
from sqlalchemy.orm import Session


def lake_hits(root: Path, needles: list[str]) -> list[str]:
    found = []
    raw = [n.encode() for n in needles]
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        for n, b in zip(needles, raw, strict=True):
            if b in data:
                found.append(f"{path.relative_to(root)}: {n}")
    return found


def table_hits(session: Session, needles: list[str]) -> list[str]:
    meta = MetaData()
    meta.reflect(bind=session.connection())
    found = []
    for table in meta.sorted_tables:
        for row in session.execute(select(table)):
            text = " ".join(
                v.hex() if isinstance(v, bytes) else str(v) for v in row if v is not None
            )
            raw = b"".join(v for v in row if isinstance(v, bytes))
            for n in needles:
                if n in text or n.encode() in raw:
                    found.append(f"{table.name}: {n}")
    return found
