"""A throw-away PostgreSQL server for the test run, started as a non-root user.

Uses Debian's ``postgresql`` package binaries (``/usr/lib/postgresql/<v>/bin``). When the
tests run as root (CI), the server runs as the ``postgres`` system user that the package made.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run `make system-deps`")
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    datadir: Path
    port: int
    user: str | None  # system user the server runs as (None: the current user)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://datatorg@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> None:
        bindir = _bindir()
        self._run(
            str(bindir / "initdb"),
            "-D",
            str(self.datadir / "data"),
            "-U",
            "datatorg",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        opts = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.datadir} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            str(bindir / "pg_ctl"),
            "-D",
            str(self.datadir / "data"),
            "-o",
            opts,
            "-l",
            str(self.datadir / "server.log"),
            "-w",
            "start",
        )

    def create_database(self, name: str) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=datatorg dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://datatorg@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        try:
            self._run(
                str(_bindir() / "pg_ctl"),
                "-D",
                str(self.datadir / "data"),
                "-m",
                "immediate",
                "-w",
                "stop",
            )
        finally:
            shutil.rmtree(self.datadir, ignore_errors=True)


def start_postgres() -> PostgresServer:
    """Start a fresh server in a temporary folder; call ``stop()`` when done."""
    datadir = Path(tempfile.mkdtemp(prefix="datatorg-pg-"))
    user = None
    if os.geteuid() == 0:
        user = "postgres"
        pw = pwd.getpwnam(user)
        os.chown(datadir, pw.pw_uid, pw.pw_gid)
    server = PostgresServer(datadir=datadir, port=_free_port(), user=user)
    server.start()
    return server
