"""A separate OS process appending read events through the journal (for test_journal).

Usage: python -m tests.access.journal_worker URL DATASET_ID AGREEMENT_ID THREADS EACH FOLDER TAG
It writes FOLDER/ready-TAG, waits for FOLDER/go, then runs THREADS threads × EACH reads.
"""

from __future__ import annotations

import sys
import threading
import time
import uuid
from pathlib import Path

from datatorg.catalog.models import Dataset
from datatorg.db.engine import make_engine, make_sessionmaker
from tests.access.test_journal import audit_read


def main(argv: list[str]) -> int:
    url, ds_id, agreement, threads, each, folder, tag = argv
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    with factory() as s:
        dataset = s.get(Dataset, uuid.UUID(ds_id))
        assert dataset is not None
    decision = uuid.UUID(agreement)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(int(each)):
                with factory() as s:
                    audit_read(s, dataset, decision, tag, 2, 5)
        except BaseException as exc:  # reported by the exit code
            errors.append(exc)

    Path(folder, f"ready-{tag}").touch()
    deadline = time.monotonic() + 60
    while not Path(folder, "go").exists():
        if time.monotonic() > deadline:
            return 3
        time.sleep(0.01)
    pool = [threading.Thread(target=worker) for _ in range(int(threads))]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    engine.dispose()
    if errors:
        print(repr(errors[0]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
