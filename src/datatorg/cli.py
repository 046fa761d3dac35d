"""The ``datatorg`` command: serve, db upgrade, demo load, users create, tokens create."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, TypeVar

import click
from sqlalchemy.orm import Session

from datatorg import cli_ops
from datatorg.db import migrate
from datatorg.db.base import utcnow
from datatorg.db.engine import make_engine, make_sessionmaker
from datatorg.db.writes import write_sessionmaker
from datatorg.errors import DatatorgError
from datatorg.identity.models import Role
from datatorg.logging import configure_logging
from datatorg.settings import Settings, get_settings


@contextmanager
def _database(settings: Settings) -> Iterator[Session]:
    """A session on the configured database; the engine is disposed afterwards."""
    engine = make_engine(settings.database_url)
    try:
        with write_sessionmaker(engine)() as session:
            yield session
    finally:
        engine.dispose()


def _settings() -> Settings:
    settings = get_settings()
    configure_logging(level=settings.log_level, json_lines=settings.log_json)
    from datatorg.lake import duck

    duck.configure(
        memory_mb=settings.duckdb_memory_mb,
        threads=settings.duckdb_threads,
        temp_directory=settings.duckdb_spill_path,
    )
    return settings


@click.group()
def main() -> None:
    """Datatorg — the data marketplace and living lab of My Digital City, Halden."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
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
    from datatorg.web.protocol import ProblemHttpTools

    uvicorn.run(
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


@main.group()
def lake() -> None:
    """The data plane (versioned Parquet files)."""


@lake.command("gc")
@click.option(
    "--grace", default=3600, show_default=True, type=int, help="Keep files younger than this (s)."
)
def lake_gc(grace: int) -> None:
    """Remove orphan files (of versions that never committed) and stale staging folders,
    after discarding uploads left pending longer than DATATORG_PENDING_UPLOAD_DAYS."""
    import datatorg.db.models  # noqa: F401  (every table)
    from datatorg.lake import gc
    from datatorg.lake import service as lake_service

    settings = _settings()
    factory = make_sessionmaker(make_engine(settings.database_url))
    with factory() as session:
        report = gc.collect(
            session=session,
            storage=lake_service.storage(settings),
            grace_seconds=grace,
            pending_max_age=timedelta(days=settings.pending_upload_days),
        )
    click.echo(
        f"discarded {report.uploads_expired} uploads pending over "
        f"{settings.pending_upload_days} days; removed {report.files_removed} orphan files "
        f"({report.bytes_freed} bytes), {report.staging_removed} staging folders and "
        f"{report.indexes_removed} row indexes of versions no longer current"
    )


@lake.group("rowindex")
def lake_rowindex() -> None:
    """Row indexes (SQLite serving copies of current versions)."""


@lake_rowindex.command("build")
@click.argument("dataset")
def lake_rowindex_build(dataset: str) -> None:
    """Build the row index of DATASET's current version now (slug or id)."""
    import datatorg.db.models  # noqa: F401  (every table)
    from datatorg.lake import service as lake_service

    settings = _settings()
    factory = make_sessionmaker(make_engine(settings.database_url))
    with factory() as session:
        try:
            ds = lake_service.get_dataset(session=session, ref=dataset, related=False)
        except DatatorgError as exc:
            raise click.ClickException(exc.detail) from None
        head = lake_service.head_files(session=session, settings=settings, dataset_id=ds.id)
    if head is None:
        raise click.ClickException("the dataset has no contents yet")
    path = lake_service.build_row_index(settings=settings, head=head)
    if path is None:
        raise click.ClickException(
            "this version gets no row index (too many rows, row indexes off, "
            "or a column the index cannot hold exactly)"
        )
    click.echo(f"row index of version {head.number}: {path}")


@main.group()
def users() -> None:
    """User accounts."""


@users.command("create")
@click.argument("email")
@click.option("--name", default=None, help="Display name (default: the e-mail's local part).")
@click.option("--superuser", is_flag=True, help="Give the account every right.")
@click.option("--password", default=None, help="Password (asked for when left out).")
@click.option("--org", "org_slug", default=None, help="Organisation to give a role in.")
@click.option("--role", default=None, type=click.Choice([r.value for r in Role]))
def users_create(
    email: str,
    name: str | None,
    superuser: bool,
    password: str | None,
    org_slug: str | None,
    role: str | None,
) -> None:
    """Create a user account (optionally with a role in an organisation)."""
    from datatorg.identity import service
    from datatorg.identity.schemas import clean_email

    if (org_slug is None) != (role is None):
        raise click.UsageError("--org and --role go together")
    try:
        email = clean_email(email)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="EMAIL") from None
    settings = _settings()
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _database(settings) as session:
        try:
            user = service.create_user(
                session=session,
                email=email,
                display_name=name or email.split("@")[0],
                password=password,
                is_superuser=superuser,
            )
            if org_slug and role:
                org = service.get_organisation(session=session, ref=org_slug)
                service.add_membership(
                    session=session, user=user, organisation=org, role=Role(role)
                )
        except DatatorgError as exc:
            raise click.ClickException(exc.detail) from None
        session.commit()
    click.echo("user created")


@users.command("grant")
@click.argument("email")
@click.argument("org_slug")
@click.argument("role", type=click.Choice([r.value for r in Role]))
def users_grant(email: str, org_slug: str, role: str) -> None:
    """Give the account EMAIL the role ROLE in organisation ORG_SLUG."""
    from datatorg.identity import service

    settings = _settings()
    with _database(settings) as session:
        user = service.get_user_by_email(session=session, email=email)
        if user is None:
            raise click.ClickException("no such user")
        try:
            org = service.get_organisation(session=session, ref=org_slug)
        except DatatorgError as exc:
            raise click.ClickException(exc.detail) from None
        service.add_membership(session=session, user=user, organisation=org, role=Role(role))
        session.commit()
    click.echo(f"{role} in {org_slug} given")


@main.group()
def tokens() -> None:
    """Personal API tokens."""


@tokens.command("create")
@click.argument("email")
@click.option("--name", default="cli", show_default=True)
@click.option(
    "--days",
    default=90,
    show_default=True,
    type=click.IntRange(0, 3650),
    help="0: never expires.",
)
def tokens_create(email: str, name: str, days: int) -> None:
    """Create an API token for EMAIL; it is printed once and stored only hashed."""
    from datatorg.identity import service

    settings = _settings()
    with _database(settings) as session:
        user = service.get_user_by_email(session=session, email=email)
        if user is None or not user.is_active:
            raise click.ClickException("no such user")
        expires = utcnow() + timedelta(days=days) if days > 0 else None
        plaintext, _record = service.create_token(
            session=session, user=user, name=name, expires_at=expires
        )
        session.commit()
    click.echo(plaintext)


@main.group()
def market() -> None:
    """The marketplace."""


@market.command("notify-expiring")
@click.option("--days", default=14, show_default=True, type=int, help="Look this far ahead.")
def market_notify_expiring(days: int) -> None:
    """Tell consumers (once) that their agreement ends within DAYS days."""
    from datatorg.market import service as market_service

    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        with write_sessionmaker(engine)() as session:
            count = market_service.notify_expiring(
                session=session, settings=settings, within_days=days
            )
            session.commit()
    finally:
        engine.dispose()
    click.echo(f"{count} agreements notified")


@main.group()
def harvest() -> None:
    """Import datasets from other catalogs (idempotent; the source is recorded)."""


def _run_harvest(kind: str, source: str, owner: str) -> None:
    from datatorg.catalog import harvest as harvesting
    from datatorg.catalog import harvest_dcat
    from datatorg.identity import service as identity

    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        # The owner is checked first, then the source is fetched with no transaction open (a
        # read transaction held across network fetches pins SQLite's WAL and PostgreSQL's
        # snapshot, and on SQLite its later write could not wait for the lock); the records
        # are stored in one write transaction, which waits its turn (datatorg.db.writes).
        with make_sessionmaker(engine)() as session:
            _harvest_step(lambda: identity.get_organisation(session=session, ref=owner))
        fetch = harvesting.ckan_records if kind == "ckan" else harvest_dcat.dcat_records
        key, records = _harvest_step(lambda: fetch(source))
        with write_sessionmaker(engine)() as session:
            org = identity.get_organisation(session=session, ref=owner)
            report = _harvest_step(lambda: harvesting.store(session, kind, key, org, records))
            session.commit()
    finally:
        engine.dispose()
    click.echo(report.summary())
    for line in report.skipped:
        click.echo(f"  skipped {line}")


T = TypeVar("T")


def _harvest_step(step: Callable[[], T]) -> T:
    """Run one step of a harvest; a failure is one line on standard error and exit code 1."""
    try:
        return step()
    except DatatorgError as exc:
        click.echo(f"harvest failed: {exc.detail}", err=True)
        raise SystemExit(1) from None
    except Exception as exc:  # network errors and the like: say what, not a traceback
        click.echo(f"harvest failed: {type(exc).__name__}: {str(exc)[:200]}", err=True)
        raise SystemExit(1) from None


@harvest.command("ckan")
@click.argument("url")
@click.option(
    "--owner",
    default="halden-kommune",
    show_default=True,
    help="Organisation slug that runs this source (and owns datasets whose publisher is unknown).",
)
def harvest_ckan(url: str, owner: str) -> None:
    """Harvest every public dataset of the CKAN portal at URL."""
    _run_harvest("ckan", url, owner)


@harvest.command("dcat")
@click.argument("source")
@click.option(
    "--owner",
    default="halden-kommune",
    show_default=True,
    help="Organisation slug that runs this source (and owns datasets whose publisher is unknown).",
)
def harvest_dcat(source: str, owner: str) -> None:
    """Harvest a DCAT-AP catalog from a URL or a file (Turtle, RDF/XML, JSON-LD)."""
    _run_harvest("dcat", source, owner)


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
