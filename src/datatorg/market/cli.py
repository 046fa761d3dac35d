"""``datatorg market …``: the marketplace's scheduled work.

Registered in cli.py with ``commands(_settings)``: the command line hands over how it makes
its settings (logging, DuckDB bounds), so this domain never imports the command line above it.
"""

from __future__ import annotations

from collections.abc import Callable

import click

from datatorg.db.engine import make_engine
from datatorg.db.writes import write_sessionmaker
from datatorg.settings import Settings

_settings_factory: list[Callable[[], Settings]] = []


def _settings() -> Settings:
    return _settings_factory[0]()


def commands(settings: Callable[[], Settings]) -> list[click.Command]:
    """The commands, making their settings with ``settings`` (the command line's)."""
    _settings_factory[:] = [settings]
    return [market]


@click.group()
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
