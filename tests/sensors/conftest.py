"""Fixtures for sensor tests: a real Mosquitto broker and a database of their own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from datatorg.db import migrate
from datatorg.db.engine import make_engine
from tests.mqtt import Broker
from tests.pg import PostgresServer


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    server = Broker(tmp_path_factory.mktemp("mosquitto"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_database(pg_server: PostgresServer | None, tmp_path: Path) -> str:
    """A fresh migrated database for tests whose processes commit (workers, kills)."""
    if pg_server is not None:
        url = pg_server.create_database(f"sensors_{uuid.uuid4().hex[:10]}")
    else:
        url = f"sqlite:///{tmp_path / 'sensors.sqlite3'}"
    make_engine(url).dispose()
    migrate.upgrade(url)
    return url
