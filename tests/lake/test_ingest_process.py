"""Whole-file ingest runs in a child process at a lower CPU priority (``lake.ingest_process``),
so the Python parts of reading a file (openpyxl, the CSV checks) never hold a web worker's
GIL; its answers (the staged file, or refusals with located errors in the request's
language) are those of the same reading in this process."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path

import openpyxl
import pytest

from datatorg.lake import ingest, ingest_process
from datatorg.lake.ingest_common import MAX_COLUMNS, IngestError
from datatorg.web import i18n


def _workbook(path: Path, rows: int) -> Path:
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("data")
    ws.append(["stasjon", "tid", "no2"])
    for i in range(rows):
        ws.append([f"HAL-{i % 7:03d}", f"2026-01-01 {i % 24:02d}:00:00", i % 97])
    wb.save(path)
    return path


def _children() -> dict[int, int]:
    """This process's live children (pid → nice value)."""
    children = multiprocessing.active_children()
    return {p.pid: os.getpriority(os.PRIO_PROCESS, p.pid) for p in children}


def test_a_workbook_is_read_in_a_nicer_child_process_with_the_same_result(
    tmp_path: Path,
) -> None:
    for name in ("here", "there"):
        (tmp_path / name).mkdir()
        _workbook(tmp_path / name / "source", 3000)
    here = ingest.stage_file(tmp_path / "here" / "source", "xlsx", tmp_path / "here")
    there = ingest_process.stage_file(tmp_path / "there" / "source", "xlsx", tmp_path / "there")
    assert (there.row_count, there.schema) == (here.row_count, here.schema)
    assert there.report == here.report
    assert there.path == tmp_path / "there" / "staged.parquet" and there.path.stat().st_size > 0
    children = _children()
    assert children, "no ingest process"
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    assert all(nice > mine or nice == 19 for nice in children.values()), (mine, children)


def test_refusals_cross_with_their_errors_in_the_request_language(tmp_path: Path) -> None:
    wide = tmp_path / "source"
    wide.write_text(",".join(f"c{i}" for i in range(20_000)) + "\n" + "1," * 19_999 + "1\n")
    with pytest.raises(IngestError) as refused:
        ingest_process.stage_file(wide, "csv", tmp_path)
    assert f"at most {MAX_COLUMNS}" in refused.value.message
    assert refused.value.errors == [{"message": f"20000 columns (at most {MAX_COLUMNS})"}]

    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b\n1,2\n3,4,5\n")
    token = i18n.locale_var.set("nb")
    try:
        with pytest.raises(IngestError) as nb:
            ingest_process.stage_file(ragged, "csv", tmp_path)
    finally:
        i18n.locale_var.reset(token)
    token = i18n.locale_var.set("en")
    try:
        with pytest.raises(IngestError) as en:
            ingest_process.stage_file(ragged, "csv", tmp_path)
    finally:
        i18n.locale_var.reset(token)
    assert nb.value.errors and len(nb.value.errors) == len(en.value.errors)
    assert nb.value.errors[0].get("line") == en.value.errors[0].get("line") == 3
    assert "header line has 2 columns" in en.value.errors[0]["message"]
    assert nb.value.errors[0]["message"] != en.value.errors[0]["message"]  # in Norwegian


def test_a_dead_child_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "source").write_text("x,y\n1,2\n")
    ingest_process.stage_file(tmp_path / "a" / "source", "csv", tmp_path / "a")
    for pid in _children():
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _children() and time.monotonic() < deadline:
        time.sleep(0.05)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "source").write_text("x,y\n3,4\n")
    staged = ingest_process.stage_file(tmp_path / "b" / "source", "csv", tmp_path / "b")
    assert staged.row_count == 1


CHILD_OF_A_KILLED_SERVER = """
import multiprocessing, sys, time
from pathlib import Path
from datatorg.lake import ingest_process
work = Path(sys.argv[1])
ingest_process.stage_file(work / "source", "csv", work)
print(*[p.pid for p in multiprocessing.active_children()], flush=True)
time.sleep(120)
"""


def test_the_child_leaves_when_its_server_is_killed(tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "source").write_text("x,y\n1,2\n")
    server = subprocess.Popen(
        [sys.executable, "-c", CHILD_OF_A_KILLED_SERVER, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        (child,) = (int(p) for p in server.stdout.readline().split())
        assert Path(f"/proc/{child}").exists()
    finally:
        server.kill()
        server.wait()
        server.stdout.close()
    deadline = time.monotonic() + 20
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not Path(f"/proc/{child}").exists()  # not left waiting for work forever
