"""The operations commands: ``datatorg backup``, ``restore`` and ``outbox deliver``
(registered in ``datatorg.cli``)."""

from __future__ import annotations

from pathlib import Path

import click

from datatorg.db.engine import make_engine, make_sessionmaker


@click.command("backup")
@click.argument("dest", type=click.Path(path_type=Path))
def backup_command(dest: Path) -> None:
    """Write a consistent snapshot of the database and the lake to the empty folder DEST
    (safe while the server runs)."""
    from datatorg import backup
    from datatorg.cli import _settings

    settings = _settings()
    try:
        report = backup.backup(
            database_url=settings.database_url, lake=settings.lake_path, dest=dest
        )
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"backed up the {report.kind} database and {report.files} lake files "
        f"({report.nbytes} bytes) to {dest}"
    )


@click.command("restore")
@click.argument("src", type=click.Path(path_type=Path, exists=True, file_okay=False))
def restore_command(src: Path) -> None:
    """Bring this (empty) installation to the state saved in the backup folder SRC."""
    from datatorg import backup
    from datatorg.cli import _settings

    settings = _settings()
    try:
        report = backup.restore(
            src=src, database_url=settings.database_url, lake=settings.lake_path
        )
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"restored the {report.kind} database and {report.files} lake files; "
        "run `datatorg db upgrade` if this release is newer than the backup"
    )


@click.group()
def outbox() -> None:
    """Messages (e-mail) that leave after the transaction that caused them commits."""


@outbox.command("deliver")
def outbox_deliver() -> None:
    """Deliver the due messages now (the server also does this in the background)."""
    import datatorg.db.models  # noqa: F401  (every table)
    from datatorg.cli import _settings
    from datatorg.outbox import service as outbox_service

    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            total = outbox_service.Delivery()
            while True:
                got = outbox_service.deliver_due(session=session, settings=settings)
                total = outbox_service.Delivery(
                    total.delivered + got.delivered,
                    total.retried + got.retried,
                    total.failed + got.failed,
                )
                if not got.delivered:
                    break
    finally:
        engine.dispose()
    click.echo(
        f"{total.delivered} delivered, {total.retried} to try again later, {total.failed} failed"
    )
