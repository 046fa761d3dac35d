"""A production-shaped server for load, concurrency and backup tests: ``datatorg serve`` with
several uvicorn workers in a subprocess, on its own database (a SQLite file, or a database on
the run's PostgreSQL server) and lake, loaded with the demo world."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from datatorg.db import migrate
from datatorg.db.engine import make_engine
from datatorg.db.writes import write_sessionmaker
from datatorg.settings import Settings

SECRET = "robust-test-secret-0123456789-abcdefghijklmnopq"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Installation:
    """A database and a lake (what ``datatorg backup`` saves and ``restore`` brings back)."""

    database_url: str
    lake: Path

    def settings(self, **extra: object) -> Settings:
        return Settings(
            env="test",
            database_url=self.database_url,
            lake_path=self.lake,
            secret_key=SECRET,  # type: ignore[arg-type]
            base_url="http://127.0.0.1",
            mail_enabled=False,
            **extra,  # type: ignore[arg-type]
        )

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            DATATORG_ENV="test",
            DATATORG_DATABASE_URL=self.database_url,
            DATATORG_LAKE_PATH=str(self.lake),
            DATATORG_SECRET_KEY=SECRET,
            DATATORG_MAIL_ENABLED="false",
            DATATORG_LOG_LEVEL="WARNING",
        )
        return env


def new_installation(root: Path, pg: object | None, name: str) -> Installation:
    """An empty, migrated installation: a SQLite file under ``root``, or a new database on
    the PostgreSQL server ``pg`` (``tests.pg.PostgresServer``)."""
    root.mkdir(parents=True, exist_ok=True)
    if pg is not None:
        url = pg.create_database(name)  # type: ignore[attr-defined]
    else:
        url = f"sqlite:///{root / (name + '.sqlite3')}"
    make_engine(url).dispose()
    migrate.upgrade(url)
    return Installation(database_url=url, lake=root / f"{name}-lake")


def load_demo(inst: Installation) -> None:
    """The demo world, as ``datatorg demo load`` makes it."""
    from datatorg.demo import world

    engine = make_engine(inst.database_url)
    try:
        with write_sessionmaker(engine)() as session:
            world.load(session=session, settings=inst.settings(), small=True)
            session.commit()
    finally:
        engine.dispose()


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]

    def pids(self) -> list[int]:
        """The server's processes: the main one and its descendants (the workers)."""
        out = subprocess.run(
            ["ps", "-o", "pid=", "-g", str(self.proc.pid)], capture_output=True, text=True
        ).stdout
        return [int(p) for p in out.split()]

    def rss_mb(self) -> float:
        """Resident memory of all the server's processes, in MiB (summed)."""
        total = 0
        for pid in self.pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except FileNotFoundError:
                continue
        return total / 1024


@contextmanager
def serve(inst: Installation, *, workers: int = 2, **env: str) -> Iterator[Server]:
    """``datatorg serve`` on a free port; stopped (SIGTERM, then SIGKILL) afterwards."""
    port = free_port()
    environ = inst.env() | env
    log = (inst.lake.parent / f"server-{port}.log").open("w+b")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "datatorg.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=environ,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # two workers import the app: slow on a busy machine
        while True:
            if proc.poll() is not None:
                log.seek(0)
                err = log.read().decode(errors="replace")
                raise RuntimeError(f"server exited: {err[-2000:]}")
            try:
                if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                log.seek(0)
                err = log.read().decode(errors="replace")
                raise RuntimeError(f"server did not answer /readyz: {err[-2000:]}")
            time.sleep(0.1)
        yield Server(url=url, proc=proc)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()
