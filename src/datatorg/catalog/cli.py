"""``datatorg harvest …``: import datasets from other catalogs (CKAN, DCAT-AP).

Registered in cli.py with ``commands(_settings)``: the command line hands over how it makes
its settings (logging, DuckDB bounds), so this domain never imports the command line above it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

from datatorg.db.engine import make_engine, make_sessionmaker
from datatorg.db.writes import write_sessionmaker
from datatorg.errors import DatatorgError
from datatorg.settings import Settings

_settings_factory: list[Callable[[], Settings]] = []


def _settings() -> Settings:
    return _settings_factory[0]()


def commands(settings: Callable[[], Settings]) -> list[click.Command]:
    """The commands, making their settings with ``settings`` (the command line's)."""
    _settings_factory[:] = [settings]
    return [harvest]


@click.group()
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
