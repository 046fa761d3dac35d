"""A live Halden for the demo: devices of the seven Smart Data Models and their readings.

Everything is a function of the seed, the device and the time: the same seed gives the same
devices, positions and readings, so the demo's history (``demo/sensors.py``) and the live
readings the simulator publishes (``datatorg simulate``) continue each other.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from datatorg.sensors.sdm import MODELS

SEED = 2026
CENTRE = (59.1229, 11.3875)  # Halden torg (lat, lon)
DISTRICTS = [
    "Sentrum",
    "Tistedal",
    "Brødløs",
    "Remmen",
    "Rødsberg",
    "Idd",
    "Berg",
    "Sauøy",
    "Kommandantveien",
    "Bergheim",
    "Os allé",
    "Gimle",
    "Låby",
    "Svinesund",
    "Femsjø",
    "Torpum",
    "Hjortsberg",
    "Isebakke",
    "Fredriksten",
    "Rokke",
]
# type, how many devices, id prefix, seconds between readings in the demo history
FLEET = [
    ("AirQualityObserved", 20, "HAL-AQ", 600),
    ("WasteContainer", 160, "HAL-WC", 3600),
    ("TrafficFlowObserved", 8, "HAL-TF", 900),
    ("EVChargingStation", 12, "HAL-EV", 900),
    ("WeatherObserved", 3, "HAL-WO", 600),
    ("ParkingSpot", 40, "HAL-PS", 900),
    ("Streetlight", 30, "HAL-SL", 3600),
]


@dataclass(frozen=True)
class Device:
    type_name: str
    device_id: str
    index: int
    name: str
    latitude: float
    longitude: float
    step: int  # seconds between readings in the demo history

    @property
    def entity_id(self) -> str:
        return f"urn:ngsi-ld:{self.type_name}:{self.device_id}"


def devices(seed: int = SEED) -> list[Device]:
    """Every demo device, positioned around Halden (deterministic for ``seed``)."""
    out = []
    for type_name, count, prefix, step in FLEET:
        rng = random.Random(f"{seed}:{type_name}")
        for i in range(count):
            radius = 0.004 + 0.03 * rng.random() ** 0.7
            angle = rng.random() * 2 * math.pi
            lat = CENTRE[0] + radius * math.sin(angle) * 0.55
            lon = CENTRE[1] + radius * math.cos(angle)
            while _in_fjord(lon, lat):  # devices stand on land
                lat += 0.006
            lat, lon = round(lat, 6), round(lon, 6)
            district = DISTRICTS[(i * 7 + len(type_name)) % len(DISTRICTS)]
            out.append(
                Device(type_name, f"{prefix}-{i + 1:03d}", i, f"{district} {i + 1}", lat, lon, step)
            )
    return out


def _in_fjord(lon: float, lat: float) -> bool:
    from datatorg.sensors.svg import FJORD

    inside = False
    j = len(FJORD) - 1
    for i in range(len(FJORD)):
        (xi, yi), (xj, yj) = FJORD[i], FJORD[j]
        if (yi > lat) != (yj > lat) and lon < (xj - xi) * (lat - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def _noise(seed: int, device: Device, slot: int, what: str) -> float:
    """A value in [0, 1) from a hash: deterministic, no state."""
    digest = hashlib.blake2b(
        f"{seed}|{device.device_id}|{slot}|{what}".encode(), digest_size=8
    ).digest()
    return int.from_bytes(digest, "big") / 2**64


def reading(device: Device, at: datetime, seed: int = SEED) -> dict[str, Any]:
    """The device's measured attributes at ``at`` (UTC)."""
    hour = at.hour + at.minute / 60
    day = (at - datetime(2026, 1, 1, tzinfo=UTC)).total_seconds() / 86400
    slot = int(at.timestamp() // 60)

    def n(what: str) -> float:
        return _noise(seed, device, slot, what)

    rush = max(0.0, math.sin((hour - 5) / 24 * 2 * math.pi)) + 0.6 * math.exp(
        -((hour - 16.5) ** 2) / 3
    )
    t = device.type_name
    if t == "AirQualityObserved":
        base = 14 + 6 * (device.index % 4) + 16 * rush
        return {
            "no2": round(base + 8 * n("no2"), 1),
            "pm10": round(9 + 6 * rush + 8 * n("pm"), 1),
            "pm25": round(4 + 3 * rush + 4 * n("pm25"), 1),
            "temperature": round(2 + 5 * math.sin((hour - 9) / 24 * 2 * math.pi) + 2 * n("t"), 1),
        }
    if t == "TrafficFlowObserved":
        intensity = int((20 + 260 * (device.index % 3 + 1) / 3 * rush) * (0.8 + 0.4 * n("i")))
        return {
            "intensity": intensity,
            "averageVehicleSpeed": round(max(8.0, 52 - 25 * rush + 6 * n("s")), 1),
            "occupancy": round(min(1.0, 0.05 + 0.55 * rush * (0.7 + 0.3 * n("o"))), 3),
        }
    if t == "WeatherObserved":
        return {
            "temperature": round(1 + 6 * math.sin((hour - 9) / 24 * 2 * math.pi) + 1.5 * n("t"), 1),
            "relativeHumidity": round(0.65 + 0.25 * n("h"), 2),
            "windSpeed": round(1 + 7 * n("w"), 1),
            "precipitation": round(max(0.0, 3 * n("p") - 2.2), 1),
        }
    if t == "WasteContainer":
        period = 72 + 48 * (device.index % 5)  # hours between emptyings
        hours = day * 24 + device.index * 7
        level = (hours % period) / period
        status = "lidOpen" if n("lid") > 0.97 else "ok"
        return {
            "fillingLevel": round(min(1.0, level * (0.95 + 0.1 * n("f"))), 2),
            "temperature": round(3 + 4 * n("t"), 1),
            "status": status,
        }
    if t == "ParkingSpot":
        busy = 0.25 + 0.6 * rush
        return {"status": "occupied" if n("p") < busy else "free"}
    if t == "Streetlight":
        dark = hour < 8 or hour >= 16
        broken = n("b") > 0.985
        return {
            "powerState": "on" if dark else "off",
            "illuminanceLevel": round(0.9 if dark else 0.0, 2),
            "status": "defectiveLamp" if broken else "ok",
        }
    if t == "EVChargingStation":
        used = min(4, int(4 * (0.2 + 0.6 * rush) * (0.6 + 0.8 * n("c"))))
        return {"availableCapacity": 4 - used}
    raise ValueError(f"unknown type {t}")


def observed_times(device: Device, start: datetime, end: datetime) -> Iterator[datetime]:
    """Reading times of ``device`` in [start, end) on its step grid."""
    first = int(start.timestamp() // device.step + 1) * device.step
    t = first
    while t < end.timestamp():
        yield datetime.fromtimestamp(t, UTC)
        t += device.step


def message(device: Device, at: datetime, seed: int = SEED) -> tuple[str, bytes]:
    """The MQTT topic and JSON payload of one reading."""
    payload = {"observedAt": at.strftime("%Y-%m-%dT%H:%M:%SZ"), **reading(device, at, seed)}
    return f"{device.type_name}/{device.device_id}", json.dumps(payload).encode()


def run(
    mqtt_url: str,
    *,
    prefix: str = "datatorg",
    seed: int = SEED,
    interval: float = 10.0,
    rounds: int | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Publish a reading of every device every ``interval`` seconds (QoS 1); returns how
    many messages were published. ``rounds`` None: until ``stop`` (or forever)."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from datatorg.sensors.mqtt import broker_address

    host, port = broker_address(mqtt_url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"datatorg-simulator-{seed}")
    client.connect(host, port, keepalive=30)
    client.loop_start()
    stop = stop or threading.Event()
    fleet = devices(seed)
    sent = done = 0
    try:
        while not stop.is_set() and (rounds is None or done < rounds):
            now = datetime.now(UTC).replace(microsecond=0)
            infos = []
            for device in fleet:
                topic, payload = message(device, now, seed)
                infos.append(client.publish(f"{prefix}/{topic}", payload, qos=1))
            for info in infos:
                info.wait_for_publish(timeout=30)
            sent += len(infos)
            done += 1
            if rounds is None or done < rounds:
                stop.wait(max(0.0, interval - (time.monotonic() % interval)))
    finally:
        client.disconnect()
        client.loop_stop()
        client._reset_sockets(sockpair_only=True)
    return sent


def history_window(now: datetime | None = None, hours: int = 24) -> tuple[datetime, datetime]:
    """The demo history's time range: the last ``hours`` up to the current minute."""
    end = (now or datetime.now(UTC)).replace(second=0, microsecond=0)
    return end - timedelta(hours=hours), end


assert set(MODELS) == {t for t, *_ in FLEET}
