"""``datatorg serve --sensors [--simulate]``: the sensor processes beside the web server.

For a single-machine install and ``make demo``: a local Mosquitto broker when none listens
at ``DATATORG_MQTT_URL`` (Debian's ``mosquitto``, configured to keep messages for the
ingest worker, with its files under ``var/mosquitto``), the ingest worker, and optionally
the simulator. They stop with the server. Production runs the broker and
``datatorg sensors ingest`` as services of their own.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from datatorg.sensors.mqtt import broker_address
from datatorg.settings import Settings

BROKER_CONF = """listener {port} {host}
allow_anonymous true
persistence true
persistence_location {folder}/
max_queued_messages 0
max_inflight_messages 0
log_dest stderr
log_type error
"""


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def start(
    settings: Settings, *, simulate: bool, var: Path = Path("var")
) -> list[subprocess.Popen[bytes]]:
    """Start what is missing; returns the child processes to stop later."""
    children: list[subprocess.Popen[bytes]] = []
    host, port = broker_address(settings.mqtt_url)
    if not _listening(host, port):
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if host not in ("127.0.0.1", "localhost") or not Path(binary).exists():
            raise RuntimeError(
                f"no MQTT broker at {settings.mqtt_url}; start one "
                "(apt-get install mosquitto) or set DATATORG_MQTT_URL"
            )
        folder = (var / "mosquitto").resolve()
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o777)  # as root, mosquitto drops to its own user and writes here
        conf = folder / "mosquitto.conf"
        conf.write_text(BROKER_CONF.format(port=port, host=host, folder=folder))
        children.append(subprocess.Popen([binary, "-c", str(conf)]))
        deadline = time.monotonic() + 10
        while not _listening(host, port) and time.monotonic() < deadline:
            time.sleep(0.1)
    exe = [sys.executable, "-m", "datatorg.cli"]
    children.append(subprocess.Popen([*exe, "sensors", "ingest"]))
    if simulate:
        time.sleep(1)  # the worker's session first, so the broker keeps what it misses
        children.append(subprocess.Popen([*exe, "simulate"]))
    return children


def stop(children: list[subprocess.Popen[bytes]]) -> None:
    """Stop the children, newest first."""
    for child in reversed(children):
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
