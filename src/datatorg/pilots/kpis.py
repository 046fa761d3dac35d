"""A pilot's KPIs: name, unit, baseline, target, direction, goal; values by hand or computed."""

from __future__ import annotations

import math
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.access import service as access
from datatorg.audit import service as audit
from datatorg.catalog import service as catalog
from datatorg.catalog.models import Dataset
from datatorg.db.base import utcnow
from datatorg.errors import DatatorgError, Forbidden, Invalid, NotFound
from datatorg.identity.actor import Actor
from datatorg.identity.models import User
from datatorg.pilots import compute, policies
from datatorg.pilots.models import Kpi, KpiSource, Measurement, Pilot
from datatorg.pilots.pilot_schemas import KpiCreate, KpiRead, MeasurementCreate, MeasurementRead
from datatorg.pilots.pilots import event, get_pilot, team_ids
from datatorg.pilots.present import lab
from datatorg.pilots.schemas import Labelled
from datatorg.pilots.vocab import N_, sdg_name
from datatorg.settings import Settings
from datatorg.web.i18n import gettext as _

MAX_VALUES = 1000  # values shown per KPI (the newest)


def _managed(session: Session, actor: Actor, pilot_id: uuid.UUID) -> Pilot:
    pilot = get_pilot(session=session, pilot_id=pilot_id)
    if not policies.can_manage_pilot(actor, team_ids(session, pilot.id)):
        raise Forbidden(_("Only the pilot's team and the coordinators change the pilot."))
    return pilot


def get_kpi(*, session: Session, pilot_id: uuid.UUID, kpi_id: uuid.UUID) -> Kpi:
    kpi = session.get(Kpi, kpi_id)
    if kpi is None or kpi.pilot_id != pilot_id:
        raise NotFound(_("No such KPI."))
    return kpi


def list_kpis(session: Session, pilot_id: uuid.UUID) -> list[Kpi]:
    return list(
        session.scalars(
            select(Kpi).where(Kpi.pilot_id == pilot_id).order_by(Kpi.created_at, Kpi.id)
        ).all()
    )


def create_kpi(
    *, session: Session, settings: Settings, actor: Actor, pilot_id: uuid.UUID, data: KpiCreate
) -> Kpi:
    """Add a KPI; a dataset KPI's query is checked, then run once through the gate."""
    pilot = _managed(session, actor, pilot_id)
    dataset: Dataset | None = None
    values: list[tuple[object, float]] = []
    error = ""
    if data.source == KpiSource.dataset:
        assert data.dataset is not None
        try:
            dataset = catalog.get_visible_dataset(session=session, actor=actor, ref=data.dataset)
        except NotFound:
            raise Invalid(
                _("No such dataset."),
                errors=[{"field": "dataset", "message": _("no such dataset")}],
            ) from None
        compute.parse_query(data.query)  # 422 for a query that is not one aggregate
        user = session.get(User, actor.user_id)
        assert user is not None
        try:
            # the columns and filters against the dataset's public schema, before the gate
            # decides whether this team may read it yet
            access.check_query(
                session=session,
                settings=settings,
                dataset=dataset,
                items=compute.parse_query(data.query),
            )
            values = list(
                compute.evaluate(
                    session=session,
                    settings=settings,
                    pilot=pilot,
                    dataset=dataset,
                    query=data.query,
                    run_as=user,
                )
            )
        except Invalid as exc:  # the columns or filters do not fit the dataset
            raise Invalid(
                _("The query does not fit the dataset."),
                errors=[
                    {"field": "query", "message": str(e.get("message", ""))[:200]}
                    for e in exc.extra.get("errors", [])
                ]
                or [{"field": "query", "message": exc.detail[:200]}],
            ) from None
        except DatatorgError as exc:  # refused (no agreement yet): kept, to be run later
            error = compute.error_message(exc)
    kpi = Kpi(
        pilot_id=pilot.id,
        name=data.name,
        unit=data.unit,
        baseline=data.baseline,
        target=data.target,
        direction=data.direction,
        sdg=data.sdg,
        source=data.source,
        dataset_id=dataset.id if dataset else None,
        query=data.query.strip().lstrip("?"),
        run_as=actor.user_id if dataset else None,
        schedule=data.schedule,
        created_by=actor.user_id,
    )
    session.add(kpi)
    session.flush()
    if dataset is not None:
        compute.store(session, kpi, values)  # type: ignore[arg-type]
        kpi.last_run_at = utcnow()
        kpi.last_ok = error == "" and bool(values)
        kpi.last_error = error or ("" if values else compute.E_EMPTY)
    event(session, pilot, N_("New KPI: {name}"), actor, name=kpi.name)
    audit.record(
        session=session,
        actor=actor,
        action="pilots.kpi.create",
        target_type="kpi",
        target_id=str(kpi.id),
        details={"dataset_id": str(dataset.id) if dataset else ""},
    )
    session.flush()
    return kpi


def run_now(
    *, session: Session, settings: Settings, actor: Actor, pilot_id: uuid.UUID, kpi_id: uuid.UUID
) -> Kpi:
    """Re-run a dataset KPI on demand (the team and coordinators)."""
    _managed(session, actor, pilot_id)
    kpi = get_kpi(session=session, pilot_id=pilot_id, kpi_id=kpi_id)
    compute.compute(session=session, settings=settings, kpi=kpi)
    return kpi


def add_value(
    *,
    session: Session,
    actor: Actor,
    pilot_id: uuid.UUID,
    kpi_id: uuid.UUID,
    data: MeasurementCreate,
) -> Measurement:
    """Enter a value by hand (replaces a hand-entered value of the same day)."""
    _managed(session, actor, pilot_id)
    kpi = get_kpi(session=session, pilot_id=pilot_id, kpi_id=kpi_id)
    if kpi.source != KpiSource.manual:
        raise Invalid(
            _("This KPI is computed from a dataset; its values are not entered by hand."),
            errors=[{"field": "value", "message": _("computed KPI")}],
        )
    found = session.scalar(
        select(Measurement).where(
            Measurement.kpi_id == kpi.id,
            Measurement.period == data.period,
            Measurement.computed.is_(False),
        )
    )
    if found is None:
        found = Measurement(kpi_id=kpi.id, period=data.period, value=data.value, computed=False)
        session.add(found)
    found.value, found.note, found.entered_by = data.value, data.note, actor.user_id
    found.recorded_at = utcnow()
    session.flush()
    return found


def values_of(session: Session, kpi_id: uuid.UUID) -> list[Measurement]:
    """The KPI's values, oldest first (the newest ``MAX_VALUES``)."""
    rows = session.scalars(
        select(Measurement)
        .where(Measurement.kpi_id == kpi_id)
        .order_by(Measurement.period.desc(), Measurement.id.desc())
        .limit(MAX_VALUES)
    ).all()
    return list(reversed(rows))


def progress(kpi: Kpi, latest: float | None) -> float | None:
    """How far the latest value has come from the baseline to the target (1.0 = reached)."""
    if latest is None or kpi.baseline is None or kpi.target is None:
        return None
    span = kpi.target - kpi.baseline
    if span == 0:
        return None
    found = round((latest - kpi.baseline) / span, 3)
    return found if math.isfinite(found) else None  # extreme values: no share to show


def kpi_read(session: Session, kpi: Kpi) -> KpiRead:
    values = [
        MeasurementRead(period=m.period, value=m.value, computed=m.computed, note=m.note)
        for m in values_of(session, kpi.id)
    ]
    latest = values[-1] if values else None
    dataset = session.get(Dataset, kpi.dataset_id) if kpi.dataset_id else None
    return KpiRead(
        id=kpi.id,
        pilot_id=kpi.pilot_id,
        url=f"/pilots/{kpi.pilot_id}/kpis/{kpi.id}",
        name=kpi.name,
        unit=kpi.unit,
        baseline=kpi.baseline,
        target=kpi.target,
        direction=lab("direction", kpi.direction),
        sdg=Labelled(code=str(kpi.sdg), label=sdg_name(kpi.sdg)) if kpi.sdg else None,
        source=lab("kpi_source", kpi.source),
        dataset={
            "slug": dataset.slug,
            "title": dataset.title_nb,
            "url": f"/datasets/{dataset.slug}",
        }
        if dataset
        else None,
        query=kpi.query,
        schedule=lab("schedule", kpi.schedule),
        last_run_at=kpi.last_run_at,
        last_ok=kpi.last_ok,
        last_error=_(kpi.last_error) if kpi.last_error else "",
        latest=latest,
        progress=progress(kpi, latest.value if latest else None),
        values=values,
    )
