"""A writer process for the SIGKILL test: appends (and sometimes compacts) in a loop.

Usage: python -m tests.lake.writer_child DB_URL LAKE DATASET_ID ACK_FILE START
Each batch has a unique id; the id is written to ACK_FILE (fsynced) only after its
transaction committed, so every acknowledged id must survive any kill.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import duckdb

import datatorg.db.models  # noqa: F401  (every table, for foreign keys)
from datatorg.db.engine import make_engine, make_sessionmaker
from datatorg.lake import service
from datatorg.lake.models import WriteMode
from datatorg.settings import Settings


def main() -> None:
    run(*sys.argv[1:6])


def run(db_url: str, lake: str, dataset_id: str, ack_path: str, start: str) -> None:
    """Write batches forever (until killed)."""
    settings = Settings(env="development", database_url=db_url, lake_path=Path(lake))
    factory = make_sessionmaker(make_engine(db_url))
    ack = open(ack_path, "a")  # noqa: SIM115 - kept open for the whole life of the process
    batch = int(start)
    while True:
        batch += 1
        with factory() as session:
            ds = service.get_dataset(session=session, ref=dataset_id)
            folder = service.new_staging(settings)
            src = folder / "source"
            mode = WriteMode.append
            rows = [f"{batch},{i}" for i in range(50)]
            if batch % 4 == 0:  # compaction: replace with everything so far plus this batch
                head = service.head_files(session=session, settings=settings, dataset_id=ds.id)
                if head is not None:
                    files = ", ".join(f"'{p}'" for p in head.paths)
                    old = duckdb.sql(f"SELECT batch, i FROM read_parquet([{files}])").fetchall()
                    rows = [f"{b},{i}" for b, i in old] + rows
                    mode = WriteMode.replace
            src.write_text("batch,i\n" + "\n".join(rows) + "\n")
            service.ingest_file(
                session=session,
                settings=settings,
                dataset=ds,
                source=src,
                filename="batch.csv",
                mode=mode,
                uploaded_by=None,
            )
            session.commit()
        ack.write(f"{batch}\n")
        ack.flush()
        os.fsync(ack.fileno())


if __name__ == "__main__":
    main()
