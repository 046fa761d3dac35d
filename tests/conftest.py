"""Test fixtures: the real app in process, on SQLite or a real PostgreSQL server.

``DATATORG_TEST_DB=postgresql`` runs the suite against a PostgreSQL server started here
(see ``tests/pg.py``); the default is a SQLite file. Each test runs inside a transaction
that is rolled back, so tests never see each other's rows.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from datatorg.app import create_app
from datatorg.db import fastread, migrate
from datatorg.db.engine import make_engine
from datatorg.settings import Settings
from tests.live import CHROMIUM, CHROMIUM_ARGS, LiveServer
from tests.mailserver import Inbox, running
from tests.pg import PostgresServer, start_postgres

BACKEND = os.environ.get("DATATORG_TEST_DB", "sqlite")
TEST_SECRET = "test-secret-key-0123456789-abcdefghijklmnop"


@pytest.fixture(autouse=True, scope="session")
def fast_password_hashing() -> Iterator[Any]:
    """Argon2id at a test cost: the production cost takes ~0.4 s a hash on a small machine.

    Yields the production hasher, for the test that pins its parameters.
    """
    from argon2 import PasswordHasher

    from datatorg.identity import passwords

    production = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    try:
        yield production
    finally:
        passwords._hasher = production


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer | None]:
    if BACKEND != "postgresql":
        yield None
        return
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def database_url(pg_server: PostgresServer | None, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database for the whole run."""
    if pg_server is not None:
        url = pg_server.create_database("datatorg_test")
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    make_engine(url).dispose()
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def lake_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lake")


@pytest.fixture(scope="session")
def settings(database_url: str, lake_path: Path) -> Settings:
    return Settings(
        env="test",
        database_url=database_url,
        lake_path=lake_path,
        secret_key=TEST_SECRET,  # type: ignore[arg-type]
        base_url="https://testserver",
        mail_enabled=False,
        log_json=True,
        # the app's sessions join each test's rolled-back connection: no background thread
        # may use them (tests deliver the outbox themselves: outbox.deliver_due)
        outbox_worker=False,
    )


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    eng = make_engine(settings.database_url)
    yield eng
    eng.dispose()
    fastread.close_pools()  # the gate's driver connections (datatorg.db.fastread)


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """One connection inside a transaction that is rolled back after the test: the test's
    session and every request of the app (``app``) work in it."""
    conn = engine.connect()
    outer = conn.begin()
    try:
        yield conn
    finally:
        if outer.is_active:
            outer.rollback()
        conn.close()


def joined_sessions(connection: Connection) -> sessionmaker[Session]:
    """Sessions that join ``connection``'s transaction: their commits are savepoints."""
    return sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    """The test's session, inside the transaction that is rolled back after the test."""
    sess = joined_sessions(connection)()
    try:
        yield sess
    finally:
        sess.close()


@pytest.fixture
def app(settings: Settings, connection: Connection, session: Session) -> Iterator[FastAPI]:
    """The real app, built as in production except that its sessions join the test's
    rolled-back transaction (``create_app(sessionmaker=...)``). Each request has a session
    of its own, as in production; after each request the test's session forgets what it had
    loaded, so it sees what the request stored."""
    factory = joined_sessions(connection)

    def request_session() -> Session:
        session.flush()  # what the test prepared is there for the request
        return factory()

    application = create_app(settings, sessionmaker=request_session)
    yield application


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app on a real HTTP port with its own SQLite database (browser tests)."""
    server = LiveServer(tmp_path_factory.mktemp("live"), TEST_SECRET)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) and page; 360 px wide when the test asks."""
    context = browser.new_context(locale="nb-NO")
    pg = context.new_page()
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture
def client(app: FastAPI, session: Session) -> Iterator[TestClient]:
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as c:
        # the requests stored through sessions of their own: reload what the test holds
        c.event_hooks["response"].append(lambda _response: session.expire_all())
        yield c


@pytest.fixture
def smtp(settings: Settings) -> Iterator[tuple[Inbox, Settings]]:
    """An empty inbox on a real local SMTP server, and settings that send mail to it (the
    outbox delivers with them: ``outbox.deliver_due(session=..., settings=live)``)."""
    inbox = Inbox()
    with running(inbox) as controller:
        yield (
            inbox,
            settings.model_copy(update={"mail_enabled": True, "smtp_port": controller.port}),
        )
