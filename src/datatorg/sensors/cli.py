"""``datatorg sensors …``: the ingest worker and one-off compaction, and ``datatorg simulate``.

Registered in cli.py with ``commands(_settings)``: the command line hands over how it makes
its settings (logging, DuckDB bounds), so this domain never imports the command line above it.
"""

from __future__ import annotations

from collections.abc import Callable

import click

from datatorg.settings import Settings

_settings_factory: list[Callable[[], Settings]] = []


def _settings() -> Settings:
    return _settings_factory[0]()


def commands(settings: Callable[[], Settings]) -> list[click.Command]:
    """The commands, making their settings with ``settings`` (the command line's)."""
    _settings_factory[:] = [settings]
    return [sensors, simulate]


@click.group("sensors")
def sensors() -> None:
    """Sensor streams: the MQTT ingest worker and live-data compaction."""


@sensors.command("ingest")
@click.option("--no-mqtt", is_flag=True, help="Only compact (no MQTT subscriber).")
@click.option("--no-compact", is_flag=True, help="Only subscribe (no compaction).")
def ingest(no_mqtt: bool, no_compact: bool) -> None:
    """Run the ingest worker: subscribe to DATATORG_MQTT_URL and compact live datasets."""
    import datatorg.db.models  # noqa: F401  (every table)
    from datatorg.db.engine import make_engine, make_sessionmaker
    from datatorg.sensors import worker

    settings = _settings()
    engine = make_engine(settings.database_url)
    click.echo(f"sensor ingest worker: mqtt={'off' if no_mqtt else settings.mqtt_url}")
    try:
        worker.run(settings, make_sessionmaker(engine), mqtt=not no_mqtt, compact=not no_compact)
    finally:
        engine.dispose()


@sensors.command("compact")
def compact() -> None:
    """Compact every live dataset once (merge segments, fold due ones, clean up)."""
    import datatorg.db.models  # noqa: F401  (every table)
    from datatorg.db.engine import make_engine, make_sessionmaker
    from datatorg.sensors import worker

    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        report = worker.compact_once(settings, make_sessionmaker(engine))
    finally:
        engine.dispose()
    click.echo(
        f"merged {report.merged} segments, folded {report.folded} datasets, deleted "
        f"{report.segments_deleted} retired segments and {report.versions_deleted} versions"
    )


@click.command("simulate")
@click.option("--seed", default=2026, show_default=True, type=int, help="Same seed, same city.")
@click.option(
    "--interval",
    default=10.0,
    show_default=True,
    type=float,
    help="Seconds between two readings of each device.",
)
@click.option("--rounds", default=None, type=int, help="Stop after this many (default: never).")
def simulate(seed: int, interval: float, rounds: int | None) -> None:
    """Publish live readings of Halden's demo sensors to DATATORG_MQTT_URL (QoS 1): 20
    air-quality stations, 160 waste containers, traffic counters, EV chargers, weather,
    parking spots and street lights, following Smart Data Models."""
    from datatorg.sensors import simulator

    settings = _settings()
    fleet = simulator.devices(seed)
    click.echo(f"simulating {len(fleet)} devices every {interval:g} s to {settings.mqtt_url}")
    try:
        sent = simulator.run(
            settings.mqtt_url,
            prefix=settings.mqtt_topic_prefix,
            seed=seed,
            interval=interval,
            rounds=rounds,
        )
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"cannot publish to {settings.mqtt_url}: {exc}") from None
    click.echo(f"published {sent} readings")
