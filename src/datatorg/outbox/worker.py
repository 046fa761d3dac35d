"""Delivery in the server: one background thread per process delivers due messages every
``DATATORG_OUTBOX_POLL_SECONDS``, and at once after a transaction that enqueued commits."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from datatorg.outbox import service
from datatorg.settings import Settings

log = logging.getLogger("datatorg.outbox")


class Worker:
    def __init__(self, sessionmaker: Callable[[], Session], settings: Settings) -> None:
        self._sessionmaker = sessionmaker
        self._settings = settings
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="outbox", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._settings.outbox_poll_seconds)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                with self._sessionmaker() as session:
                    while service.deliver_due(session=session, settings=self._settings).delivered:
                        pass  # a full batch: there may be more
            except Exception:  # the next round tries again; never let the thread die
                log.exception("outbox round failed")


_workers: list[Worker] = []


def _after_commit(session: Session) -> None:
    if session.info.pop(service.PENDING_KEY, False):
        for worker in list(_workers):
            worker.wake()


def _after_rollback(session: Session) -> None:
    session.info.pop(service.PENDING_KEY, None)


event.listen(Session, "after_commit", _after_commit)
event.listen(Session, "after_soft_rollback", lambda s, _t: _after_rollback(s))


def start(sessionmaker: Callable[[], Session], settings: Settings) -> Worker:
    """Start this process's deliverer (at application start-up)."""
    worker = Worker(sessionmaker, settings)
    _workers.append(worker)
    worker.start()
    return worker


def stop(worker: Any) -> None:
    if worker in _workers:
        _workers.remove(worker)
    worker.stop()
