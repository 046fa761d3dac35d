"""``datatorg pilots …``: the living lab's commands (registered in ``datatorg.cli``)."""

from __future__ import annotations

import uuid

import click

from datatorg.db.engine import make_engine, make_sessionmaker
from datatorg.logging import configure_logging
from datatorg.pilots import consent_scope  # noqa: F401  (pilot-scoped consent in KPI reads)
from datatorg.settings import get_settings


@click.group()
def pilots() -> None:
    """The living lab."""


@pilots.group("kpis")
def kpis() -> None:
    """KPIs computed from datasets."""


@kpis.command("run")
@click.option(
    "--kpi", "kpi_id", default=None, help="Run this KPI (its id) now, whatever its schedule."
)
def kpis_run(kpi_id: str | None) -> None:
    """Re-run the KPIs whose schedule is due (daily, weekly) through the gate; run it from
    cron every hour or every night. With --kpi, run that one KPI now."""
    import datatorg.db.models  # noqa: F401  (every table)
    from datatorg.pilots import compute
    from datatorg.pilots.models import Kpi

    settings = get_settings()
    configure_logging(level=settings.log_level, json_lines=settings.log_json)
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            if kpi_id is not None:
                try:
                    found = session.get(Kpi, uuid.UUID(kpi_id))
                except ValueError:
                    found = None
                if found is None:
                    raise click.ClickException("No such KPI")
                written = compute.compute(session=session, settings=settings, kpi=found)
                session.commit()
                state = "ok" if found.last_ok else f"failed: {found.last_error}"
                click.echo(f"{found.name}: {written} values ({state})")
                return
            ran = compute.run_due(session=session, settings=settings)
            failed = [k for k in ran if not k.last_ok]
            click.echo(f"{len(ran)} KPIs computed, {len(failed)} failed")
            for k in failed:
                click.echo(f"  {k.id} {k.name}: {k.last_error}")
    finally:
        engine.dispose()
