"""Where a row query's time goes: py-spy over a one-worker server under wrk load.

    .venv/bin/python -m bench.profile_rows [seconds]

Sets up the row-query benchmark's dataset (bench.lake), serves it with one uvicorn worker
under ``py-spy record`` (all threads, idle time excluded), drives it with wrk at 16
connections and prints the functions holding the most samples (own and cumulative).
py-spy is a profiling aid only (``uv pip install py-spy`` into the venv); it is not a
project dependency.
"""

from __future__ import annotations

import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from bench import lake

QUERY = "station=HAL-007&no2__gt=20&_sort=ts&_size=50"


def _summary(raw: Path, top: int = 45) -> str:
    """Busy samples only (request handling, not idle threads or start-up imports), by function."""
    own: collections.Counter[str] = collections.Counter()
    cum: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if (
            "run_asgi" not in stack
            and "WorkerThread.run (anyio/_backends/_asyncio.py:1124)" not in stack
        ):
            continue
        count = int(n)
        total += count
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        own[frames[-1]] += count
        for f in set(frames):
            cum[f] += count
    out = [f"{total} busy samples", "", "-- own time"]
    out += [f"{100 * c / total:5.1f}%  {f}" for f, c in own.most_common(top)]
    out += ["", "-- cumulative"]
    out += [f"{100 * c / total:5.1f}%  {f}" for f, c in cum.most_common(top)]
    return "\n".join(out)


def main(seconds: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="datatorg-prof-"))
    con = duckdb.connect()
    page = work / "page.parquet"
    con.execute(
        f"COPY (SELECT i AS id, 'HAL-' || lpad((i % 20)::VARCHAR, 3, '0') AS station, "
        f"TIMESTAMP '2025-01-01' + to_seconds(i * 30) AS ts, "
        f"round((hash(i) % 1000) / 10.0, 1) AS no2, (hash(i * 7) % 500) AS pm10 "
        f"FROM range({lake.PAGE_ROWS}) t(i) ORDER BY station, ts) TO '{page}' "
        "(FORMAT parquet, ROW_GROUP_SIZE 50000)"
    )
    platform = lake.Platform(work / "platform")
    try:
        platform.upload("page", page)
    finally:
        platform.stop()
    raw = work / "profile.txt"
    port = lake._port()
    spy = subprocess.Popen(
        [
            str(lake.BIN / "py-spy"),
            "record",
            "--format",
            "raw",
            "--threads",
            "--rate",
            "100",
            "-o",
            str(raw),
            "--",
            str(lake.BIN / "datatorg"),
            "serve",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        env=platform.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        lake._wait(url + "/healthz")
        rps = lake._wrk(f"{url}/api/v1/datasets/page/rows?{QUERY}", seconds)
    finally:
        # SIGINT reaches the server (py-spy's child) and py-spy then writes its output.
        subprocess.run(["pkill", "-INT", "-P", str(spy.pid)], check=False)
        for _ in range(60):
            if spy.poll() is not None:
                break
            time.sleep(0.5)
    print(f"one worker: {rps:.0f} requests/s\n")
    print(_summary(raw).replace(f"({lake.ROOT.resolve()}/", "("))  # paths relative to the repo
    if not os.environ.get("BENCH_KEEP"):
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if sys.argv[1:] else 10)
