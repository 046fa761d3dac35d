"""The ``datatorg`` command: serve, db, demo here; each domain's commands (lake, users,
tokens, market, harvest, pilots, sensors) in its own ``cli`` module, registered below."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import click
from sqlalchemy.orm import Session

from datatorg import cli_ops
from datatorg.db import migrate
from datatorg.db.engine import make_engine
from datatorg.db.oneoff import write_session
from datatorg.logging import configure_logging
from datatorg.settings import Settings, get_settings


def _database(settings: Settings) -> AbstractContextManager[Session]:
    """A session on the configured database; the engine is disposed afterwards."""
    return write_session(settings.database_url)


def _settings() -> Settings:
    settings = get_settings()
    configure_logging(level=settings.log_level, json_lines=settings.log_json)
    from datatorg.lake import duck

    duck.configure(
        memory_mb=settings.duckdb_memory_mb,
        threads=settings.duckdb_threads,
        temp_directory=settings.duckdb_spill_path,
        queries=settings.duckdb_queries,
    )
    return settings


@click.group()
def main() -> None:
    """Datatorg — the data marketplace and living lab of My Digital City, Halden."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Worker processes. On Linux each has a listening socket of its own and the "
    "kernel spreads new connections over them.",
)
@click.option(
    "--sensors",
    is_flag=True,
    help="Also run the sensor ingest worker (and a local "
    "MQTT broker if none listens at DATATORG_MQTT_URL).",
)
@click.option(
    "--simulate", is_flag=True, help="Also run the Halden sensor simulator (implies --sensors)."
)
def serve(host: str, port: int, workers: int, sensors: bool, simulate: bool) -> None:
    """Serve the web site and the API."""
    import uvicorn

    settings = _settings()
    click.echo(f"Datatorg on http://{host}:{port} ({settings.env}, {settings.database_url})")
    children = []
    if sensors or simulate:
        from datatorg.sensors import processes

        children = processes.start(settings, simulate=simulate)
    try:
        _run_uvicorn(uvicorn, host, port, workers)
    finally:
        if children:
            processes.stop(children)


def _run_uvicorn(uvicorn: Any, host: str, port: int, workers: int) -> None:
    from datatorg.web import workers as web_workers
    from datatorg.web.protocol import ProblemHttpTools

    config = uvicorn.Config(
        "datatorg.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        # The app logs each request itself, without the query string (it may hold a reset
        # token or personal data); uvicorn's access log would write the full URL.
        access_log=False,
        proxy_headers=True,
        # A worker answers the supervisor's health check only once the app is imported and
        # started: uvicorn's 5 s default killed and restarted workers in a loop on a busy host
        # (importing took 17 s there).
        timeout_worker_healthcheck=120,
        # requests uvicorn cannot read (over 64 KiB of request line) answer problem+json too
        http=ProblemHttpTools,
    )
    # Several workers get a listening socket each, so that the kernel spreads new
    # connections over them (datatorg.web.workers; docs/robust.md).
    web_workers.run(config)


@main.group()
def db() -> None:
    """The control-plane database."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    settings = _settings()
    make_engine(settings.database_url).dispose()  # creates the SQLite folder if needed
    migrate.upgrade(settings.database_url, revision)
    click.echo(f"database at {revision}")


@db.command("revision")
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    """Autogenerate a migration from the models (developers)."""
    migrate.revision(_settings().database_url, message)


@main.group()
def demo() -> None:
    """The Halden demo world."""


@demo.command("load")
@click.option(
    "--small", is_flag=True, help="A short slice of every series (seconds to load, ~15,000 rows)."
)
def demo_load(small: bool) -> None:
    """Load (or refresh) the demo world; running it twice is safe."""
    from datatorg.demo import world

    settings = _settings()
    with _database(settings) as session:
        accounts = world.load(session=session, settings=settings, small=small)
        session.commit()
    click.echo(f"Demo accounts (password for all: {world.DEMO_PASSWORD}):")
    for role, email in accounts:
        click.echo(f"  {role:<12} {email}")


# Each domain's commands live in its own ``cli`` module.
from datatorg.catalog import cli as _catalog_cli  # noqa: E402
from datatorg.identity import cli as _identity_cli  # noqa: E402
from datatorg.lake import cli as _lake_cli  # noqa: E402
from datatorg.market import cli as _market_cli  # noqa: E402

for _domain in (_lake_cli, _identity_cli, _market_cli, _catalog_cli):
    # looked up at each call, so ``_settings`` stays the one place settings are made
    for _command in _domain.commands(lambda: _settings()):
        main.add_command(_command)

# The living lab's commands live in their domain.
from datatorg.pilots.cli import pilots as pilots_commands  # noqa: E402

main.add_command(pilots_commands)

# Operations (robust, issue 11): backup, restore, outbox delivery.
main.add_command(cli_ops.backup_command)
main.add_command(cli_ops.restore_command)
main.add_command(cli_ops.outbox)

# sensors (issue 15): the ingest worker and compaction
from datatorg.sensors import cli as _sensors_cli  # noqa: E402

for _command in _sensors_cli.commands(_settings):
    main.add_command(_command)

if __name__ == "__main__":
    main()
