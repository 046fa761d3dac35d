"""Whole-file ingest in a process of its own, at a lower CPU priority than the web workers.

Reading a whole upload is CPU work: openpyxl turns every cell of a workbook into Python
objects, the CSV checks and recoding read the file in Python, DuckDB types it. Run in a
thread of a web worker, the Python parts hold that worker's GIL: every other request of the
worker, down to ``/healthz``, then waits up to the interpreter's switch interval (5 ms) each
time it wants the GIL back, many times per page (measured in docs/performance.md).

So ``stage_file`` hands ``ingest.stage_file`` to a child process (one per web worker, started
on the first upload and kept: a spawn costs about a second of imports) and waits for it
without holding the GIL. The child is ``os.nice``'d by ``NICE``, so on a busy machine the
kernel gives the cores to the web workers first and the upload takes longer instead. It has
the same DuckDB limits as its parent, and uploads of one worker are staged one at a time (a
second one waits its turn). A child whose resident memory grew past ``RECYCLE_MB`` is
replaced after its file; one that dies (killed for memory, say) refuses only that file.
Everything it reads and writes is in the upload's staging folder; its answer is the
``Staged`` record, or the ``IngestError`` with its located errors, in the request's language.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import resource
import threading
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from datatorg.lake import duck, ingest
from datatorg.lake import ingest_errors as err
from datatorg.web import i18n

# Niceness of the child (0-19; higher yields more): at 10 the kernel gives it about a tenth of
# a core's time against a busy web worker, and all of an idle one.
NICE = 10
RECYCLE_MB = 400

_lock = threading.Lock()
_pool: concurrent.futures.ProcessPoolExecutor | None = None


def _start_child(nice: int, parent: int) -> None:
    if nice:
        os.nice(nice)
    # A pool's worker waits for work forever, even when its parent was killed (it holds both
    # ends of its queue's pipe): it leaves as soon as the parent is gone.
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def _stage_in_child(
    src: Path, fmt: str, work: Path, locale: str, limits: duck.Limits
) -> tuple[ingest.Staged, int]:
    duck.configure(  # the parent's limits as they are now
        memory_mb=limits.memory_mb, threads=limits.threads, temp_directory=limits.temp_directory
    )
    token = i18n.locale_var.set(locale)  # refusals are worded in the request's language
    try:
        staged = ingest.stage_file(src, fmt, work)
    finally:
        i18n.locale_var.reset(token)
    # ru_maxrss is the peak in KiB on Linux: what the file cost the child at most
    return staged, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def _get_pool() -> concurrent.futures.ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=1,
                # a fresh interpreter: forking a threaded server (DuckDB, SQLite, the loop)
                # could copy locks held by other threads
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_child,
                initargs=(NICE, os.getpid()),
            )
        return _pool


def _retire(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False)


def stage_file(src: Path, fmt: str, work: Path) -> ingest.Staged:
    """``ingest.stage_file`` run in the ingest process (see the module docstring)."""
    for attempt in (1, 2):
        pool = _get_pool()
        try:
            staged, peak_mb = pool.submit(
                _stage_in_child, src, fmt, work, i18n.current_locale(), duck.limits()
            ).result()
        except BrokenProcessPool:
            # The child died: before this file (killed while idle: a fresh one tries it) or
            # on it (out of memory, say): then, or if a fresh one dies too, it is refused.
            _retire(pool)
            if attempt == 2 or not src.exists():  # a workbook is renamed when it starts
                raise err.unreadable(fmt) from None
            continue
        if peak_mb > RECYCLE_MB:  # give the memory back: the next upload gets a fresh child
            _retire(pool)
        return staged
    raise AssertionError("unreachable")


def shutdown() -> None:
    """Stop the ingest process (if any) and wait for it."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True)
