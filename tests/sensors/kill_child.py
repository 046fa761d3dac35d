"""Child processes for the sensor SIGKILL tests: the HTTP app, and the ingest worker with
fast compaction. Each runs until it is killed."""

from __future__ import annotations

from pathlib import Path

import datatorg.db.models  # noqa: F401  (every table, for foreign keys)
from datatorg.settings import Settings

SECRET = "kill-test-secret-0123456789-abcdefghijklmnop"


def settings(db_url: str, lake: str, mqtt_url: str = "mqtt://127.0.0.1:1") -> Settings:
    return Settings(
        env="test",
        database_url=db_url,
        lake_path=Path(lake),
        secret_key=SECRET,  # type: ignore[arg-type]
        mail_enabled=False,
        mqtt_url=mqtt_url,
        mqtt_client_id="kill-test-worker",
        sensor_compact_seconds=0,  # compaction rounds back to back, to be killed mid-way
        live_fold_rows=300,
        live_fold_seconds=10_000,
    )


def serve_http(db_url: str, lake: str, port: int) -> None:
    import uvicorn

    from datatorg.app import create_app

    app = create_app(settings(db_url, lake))
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False)


def run_worker(db_url: str, lake: str, mqtt_url: str) -> None:
    from datatorg.db.engine import make_engine, make_sessionmaker
    from datatorg.sensors import worker

    conf = settings(db_url, lake, mqtt_url)
    worker.run(conf, make_sessionmaker(make_engine(db_url)))
