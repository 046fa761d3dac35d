"""``datatorg lake …``: the data plane's housekeeping (orphan files, row indexes).

Registered in cli.py with ``commands(_settings)``: the command line hands over how it makes
its settings (logging, DuckDB bounds), so this domain never imports the command line above it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import click

from datatorg.db.engine import make_engine, make_sessionmaker
from datatorg.errors import DatatorgError
from datatorg.settings import Settings

_settings_factory: list[Callable[[], Settings]] = []


def _settings() -> Settings:
    return _settings_factory[0]()


def commands(settings: Callable[[], Settings]) -> list[click.Command]:
    """The commands, making their settings with ``settings`` (the command line's)."""
    _settings_factory[:] = [settings]
    return [lake]


@click.group()
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
