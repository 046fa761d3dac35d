"""A real server for browser tests: uvicorn in a thread, its own migrated SQLite database."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy.orm import Session

from datatorg.app import create_app
from datatorg.db import migrate
from datatorg.db.engine import make_engine, make_sessionmaker
from datatorg.settings import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """The whole app served over HTTP on 127.0.0.1, for Chromium and HTTP clients."""

    def __init__(self, root: Path, secret: str, database_url: str | None = None) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        db_url = database_url or f"sqlite:///{root / 'live.sqlite3'}"
        make_engine(db_url).dispose()
        migrate.upgrade(db_url)
        self.settings = Settings(
            env="test",
            database_url=db_url,
            lake_path=root / "lake",
            secret_key=secret,  # type: ignore[arg-type]
            base_url=self.url,
            mail_enabled=False,
        )
        self.app = create_app(self.settings)
        self.sessionmaker = make_sessionmaker(self.app.state.engine)
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_config=None, lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("live server did not start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.app.state.engine.dispose()

    def with_session(self, fn: Callable[[Session], Any]) -> Any:
        """Run ``fn`` in a committed session on the live server's database (to set up data)."""
        with self.sessionmaker() as session:
            result = fn(session)
            session.commit()
            return result


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    found: list[dict[str, Any]] = results.response.get("violations", [])
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in found
        if v.get("impact") in ("serious", "critical")
    ]
