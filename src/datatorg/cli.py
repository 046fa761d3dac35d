"""The ``datatorg`` command: serve, db upgrade, demo load, users create, tokens create."""

from __future__ import annotations

import getpass
import sys
from datetime import timedelta

import click

from datatorg.db import migrate
from datatorg.db.base import utcnow
from datatorg.db.engine import make_engine, make_sessionmaker
from datatorg.logging import configure_logging
from datatorg.settings import Settings, get_settings


def _settings() -> Settings:
    settings = get_settings()
    configure_logging(level=settings.log_level, json_lines=settings.log_json)
    return settings


@click.group()
def main() -> None:
    """Datatorg — the data marketplace and living lab of My Digital City, Halden."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
def serve(host: str, port: int, workers: int) -> None:
    """Serve the web site and the API."""
    import uvicorn

    settings = _settings()
    click.echo(f"Datatorg on http://{host}:{port} ({settings.env}, {settings.database_url})")
    uvicorn.run(
        "datatorg.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        proxy_headers=True,
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
def demo_load() -> None:
    """Load (or refresh) the demo world; running it twice is safe."""
    from datatorg.demo import world

    settings = _settings()
    factory = make_sessionmaker(make_engine(settings.database_url))
    with factory() as session:
        accounts = world.load(session=session, settings=settings)
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
    """Remove orphan files (of versions that never committed) and stale staging folders."""
    import datatorg.db.models  # noqa: F401  (every table)
    from datatorg.lake import gc
    from datatorg.lake import service as lake_service

    settings = _settings()
    factory = make_sessionmaker(make_engine(settings.database_url))
    with factory() as session:
        report = gc.collect(
            session=session, storage=lake_service.storage(settings), grace_seconds=grace
        )
    click.echo(
        f"removed {report.files_removed} orphan files ({report.bytes_freed} bytes) "
        f"and {report.staging_removed} staging folders"
    )


@main.group()
def users() -> None:
    """User accounts."""


@users.command("create")
@click.argument("email")
@click.option("--name", default=None, help="Display name (default: the e-mail's local part).")
@click.option("--superuser", is_flag=True, help="Give the account every right.")
@click.option("--password", default=None, help="Password (asked for when left out).")
def users_create(email: str, name: str | None, superuser: bool, password: str | None) -> None:
    """Create a user account."""
    from datatorg.identity import service

    settings = _settings()
    if password is None:
        password = getpass.getpass("Password: ")
    factory = make_sessionmaker(make_engine(settings.database_url))
    with factory() as session:
        service.create_user(
            session=session,
            email=email,
            display_name=name or email.split("@")[0],
            password=password,
            is_superuser=superuser,
        )
        session.commit()
    click.echo("user created")


@main.group()
def tokens() -> None:
    """Personal API tokens."""


@tokens.command("create")
@click.argument("email")
@click.option("--name", default="cli", show_default=True)
@click.option("--days", default=90, show_default=True, type=int, help="0: never expires.")
def tokens_create(email: str, name: str, days: int) -> None:
    """Create an API token for EMAIL; it is printed once and stored only hashed."""
    from datatorg.identity import service

    settings = _settings()
    factory = make_sessionmaker(make_engine(settings.database_url))
    with factory() as session:
        user = service.get_user_by_email(session=session, email=email)
        if user is None:
            click.echo("no such user", err=True)
            sys.exit(1)
        expires = utcnow() + timedelta(days=days) if days > 0 else None
        plaintext, _record = service.create_token(
            session=session, user=user, name=name, expires_at=expires
        )
        session.commit()
    click.echo(plaintext)


if __name__ == "__main__":
    main()
