"""The MQTT subscriber: QoS 1 observations in micro-batches, acknowledged once durable.

Topics are ``<prefix>/<EntityType>/<device id>`` (``datatorg/AirQualityObserved/HAL-001``)
with a JSON payload: one observation (``{"observedAt": …, "no2": 23.1}``; ``entityId``
defaults to ``urn:ngsi-ld:<EntityType>:<device id>``) or an array of them.

The client keeps a persistent session (clean session off, a fixed client id) and
acknowledges by hand (paho's ``manual_ack``): the messages of a micro-batch are stored and
committed durably first, and only then is each PUBACK sent. A subscriber that dies before
that leaves its messages unacknowledged, and the broker delivers them again when it is back;
the redelivered ones that were stored already are recognised as duplicates. Malformed
messages and those for unknown devices are counted and acknowledged (sending them again
would not make them better).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from datatorg.db.writes import WriteBusy
from datatorg.sensors import ingest, service, store
from datatorg.sensors.ingest import Parsed
from datatorg.sensors.models import SensorEntity, SensorStream
from datatorg.settings import Settings

log = logging.getLogger("datatorg.sensors.mqtt")

BATCH_MAX = 1000  # messages per micro-batch
LINGER_S = 0.02  # how long a micro-batch waits for more messages once it has one
BUSY_RETRIES = 20  # tries of a micro-batch while the database is busy, 0.5 s apart


@dataclass
class Stats:
    messages: int = 0
    batches: int = 0
    acked: int = 0


def broker_address(url: str) -> tuple[str, int]:
    """Host and port of ``mqtt://host:port``."""
    parsed = urlparse(url)
    if parsed.scheme not in ("mqtt", "tcp") or not parsed.hostname:
        raise ValueError("DATATORG_MQTT_URL must look like mqtt://host:1883")
    return parsed.hostname, parsed.port or 1883


class Subscriber:
    """Subscribes to ``<prefix>/+/+`` and stores what arrives, acknowledging after commit."""

    def __init__(
        self,
        settings: Settings,
        factory: sessionmaker[Session],
        *,
        client_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.factory = factory
        self.prefix = settings.mqtt_topic_prefix.strip("/")
        self.inbox: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.stats = Stats()
        self.stopping = threading.Event()
        self.connected = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or settings.mqtt_client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
        )
        self.client.manual_ack_set(True)
        self.client.max_inflight_messages_set(BATCH_MAX)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect

    # -- paho callbacks (its network thread) ------------------------------------------------
    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if rc.is_failure:
            log.warning("mqtt connect refused", extra={"reason": str(rc)})
            return
        client.subscribe(f"{self.prefix}/+/+", qos=1)

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, codes: Any, _p: Any) -> None:
        if all(not getattr(c, "is_failure", False) for c in codes):
            self.connected.set()  # subscribed: the broker keeps messages for us from now on
        else:
            log.warning("mqtt subscription refused")

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        self.connected.clear()
        if not self.stopping.is_set():
            log.warning("mqtt disconnected; reconnecting", extra={"reason": str(rc)})

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self.inbox.put(msg)

    # -- the ingest loop (the caller's thread) ----------------------------------------------
    def start(self) -> None:
        host, port = broker_address(self.settings.mqtt_url)
        self.client.reconnect_delay_set(min_delay=1, max_delay=10)
        self.client.connect_async(host, port, keepalive=30)
        self.client.loop_start()

    def stop(self) -> None:
        self.stopping.set()
        self._halt()

    def _halt(self) -> None:
        """Disconnect and stop paho's network thread. ``loop_start`` opens a socket pair to
        wake that thread and nothing closes it when the thread ends: close it here."""
        self.client.disconnect()
        self.client.loop_stop()
        self.client._reset_sockets(sockpair_only=True)

    def run(self, *, until: threading.Event | None = None) -> None:
        """Take micro-batches off the inbox and store them until stopped."""
        stop = until or self.stopping
        while not stop.is_set() and not self.stopping.is_set():
            batch = self._next_batch(timeout=0.5)
            if not batch:
                continue
            try:
                self._process_waiting(batch)
            except Exception:  # nothing of the batch was acknowledged: have it sent again
                log.exception("storing an MQTT micro-batch failed; reconnecting")
                self._recover()

    def _process_waiting(self, batch: list[mqtt.MQTTMessage]) -> None:
        """``process``, tried again while the database is busy with other writes (the
        messages stay unacknowledged meanwhile; the broker holds no more than its in-flight
        window for us)."""
        for attempt in range(BUSY_RETRIES):
            try:
                self.process(batch)
                return
            except WriteBusy:
                if attempt == BUSY_RETRIES - 1 or self.stopping.is_set():
                    raise
                log.info("database busy; storing the MQTT micro-batch again")
                time.sleep(0.5)

    def _recover(self) -> None:
        """Drop the unacknowledged messages we hold and reconnect: the broker delivers every
        unacknowledged message of the persistent session again."""
        self._halt()
        while not self.inbox.empty():
            self.inbox.get_nowait()
        time.sleep(1)
        self.start()

    def _next_batch(self, timeout: float) -> list[mqtt.MQTTMessage]:
        try:
            first = self.inbox.get(timeout=timeout)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + LINGER_S
        while len(batch) < BATCH_MAX:
            left = deadline - time.monotonic()
            try:
                batch.append(
                    self.inbox.get(timeout=max(left, 0)) if left > 0 else self.inbox.get_nowait()
                )
            except queue.Empty:
                break
        return batch

    def process(self, batch: list[mqtt.MQTTMessage]) -> None:
        """Store one micro-batch, then acknowledge every message of it."""
        with self.factory() as session:
            store_messages(session, self.settings, self.prefix, batch)
        for msg in batch:
            if msg.qos > 0:
                self.client.ack(msg.mid, msg.qos)
        self.stats.messages += len(batch)
        self.stats.batches += 1
        self.stats.acked += sum(1 for m in batch if m.qos > 0)


def store_messages(
    session: Session, settings: Settings, prefix: str, batch: list[mqtt.MQTTMessage]
) -> None:
    """Parse, route (by the topic's device, through the registry) and store a micro-batch;
    each stream's part is committed durably. Messages no stream takes are counted."""
    devices: dict[int, str] = {}
    bad_topic = 0
    for i, msg in enumerate(batch):
        parts = msg.topic.split("/")
        if len(parts) != len(prefix.split("/")) + 2:
            bad_topic += 1
            continue
        type_name, device = parts[-2], parts[-1]
        try:
            devices[i] = ingest.entity_id(device, type_name)
        except ValueError:
            bad_topic += 1
    owners: dict[str, SensorStream] = {}
    ids = sorted(set(devices.values()))
    for start in range(0, len(ids), 500):
        for ent, stream in session.execute(
            select(SensorEntity.id, SensorStream)
            .join(SensorStream, SensorStream.id == SensorEntity.stream_id)
            .where(SensorEntity.id.in_(ids[start : start + 500]))
        ):
            owners[ent] = stream
    parsed: dict[Any, Parsed] = defaultdict(Parsed)
    unknown = 0
    for i, ident in devices.items():
        owner = owners.get(ident)
        if owner is None:
            unknown += 1
            continue
        one = ingest.parse_message(bytes(batch[i].payload), store.spec_of(owner), ident, i)
        into = parsed[owner.id]
        into.observations += one.observations
        into.malformed += one.malformed
    by_id = {s.id: s for s in owners.values()}
    for stream_id, part in parsed.items():
        ref = service.stream_ref(session=session, stream=by_id[stream_id])
        service.ingest(session=session, settings=settings, ref=ref, parsed=part, channel="mqtt")
    if bad_topic or unknown:
        service.count_refused(
            session=session, scope="-", channel="mqtt", malformed=bad_topic, unknown=unknown
        )
        store.commit_durably(session)
