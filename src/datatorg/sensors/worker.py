"""The sensor ingest worker: the MQTT subscriber, the live-data compactor and the NGSI-LD
notification sender in one process.

Production runs one ``datatorg sensors ingest`` process next to the web workers (the web
workers take HTTP batches themselves); ``datatorg serve --sensors`` starts it as a child
process for a single-machine install and ``make demo``. Compaction takes the dataset's
write lock for a moment only, so any number of workers may run it; the MQTT subscriber
needs a client id of its own per worker (``DATATORG_MQTT_CLIENT_ID``).
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from sqlalchemy.orm import Session, sessionmaker

from datatorg.db.writes import WriteBusy
from datatorg.lake import service as lake
from datatorg.sensors.mqtt import Subscriber
from datatorg.settings import Settings

log = logging.getLogger("datatorg.sensors.worker")


def compact_once(settings: Settings, factory: sessionmaker[Session]) -> lake.CompactReport:
    """One compaction round over every live dataset."""
    with factory() as session:
        return lake.compact_live(
            session=session,
            storage=lake.storage(settings),
            fold_rows=settings.live_fold_rows,
            fold_seconds=settings.live_fold_seconds,
        )


def compactor(settings: Settings, factory: sessionmaker[Session], stop: threading.Event) -> None:
    """Compact every ``sensor_compact_seconds`` until ``stop``; errors are logged, not fatal."""
    while not stop.wait(settings.sensor_compact_seconds):
        try:
            report = compact_once(settings, factory)
        except WriteBusy:  # other writes held the database longer than a turn may wait
            log.info("live compaction waited too long for its write turn; next round")
            continue
        except Exception:  # a failed round leaves everything as it was; try again later
            log.exception("live compaction failed")
            continue
        if report.merged or report.folded:
            log.info(
                "live compaction",
                extra={
                    "merged": report.merged,
                    "folded": report.folded,
                    "deleted": report.segments_deleted,
                },
            )


def sender(settings: Settings, factory: sessionmaker[Session], stop: threading.Event) -> None:
    """Send pending NGSI-LD notifications every second; forget old ones hourly."""
    from datatorg.sensors.ngsi import notify

    rounds = 0
    while not stop.wait(1):
        try:
            notify.deliver(factory, settings)
            rounds += 1
            if rounds % 3600 == 0:
                with factory() as session:
                    notify.cleanup(session)
        except Exception:  # a failed round leaves the rows pending; try again
            log.exception("sending notifications failed")


def run(
    settings: Settings, factory: sessionmaker[Session], *, mqtt: bool = True, compact: bool = True
) -> None:
    """Run until SIGTERM or SIGINT: the subscriber in this thread, compaction beside it."""
    stop = threading.Event()

    def _stop(_sig: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    threads = [threading.Thread(target=sender, args=(settings, factory, stop), daemon=True)]
    threads[0].start()
    if compact:
        t = threading.Thread(target=compactor, args=(settings, factory, stop), daemon=True)
        t.start()
        threads.append(t)
    if mqtt:
        subscriber = Subscriber(settings, factory)
        subscriber.start()
        try:
            subscriber.run(until=stop)
        finally:
            subscriber.stop()
    else:
        stop.wait()
    for t in threads:
        t.join(timeout=30)
