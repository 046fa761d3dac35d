"""The living lab demo's sensor-based waste collection pilot (running): one KPI computed
through the gate from the waste containers' live sensor stream, under the agreement the pilot
asks the sensor vendor for, and one from the household waste statistics (open data)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.demo.pilots_pilots import actor, ask_for_data, dataset, phases
from datatorg.identity.actor import Actor
from datatorg.market.models import Offer
from datatorg.pilots import service as lab
from datatorg.pilots.models import Idea, Pilot
from datatorg.pilots.pilot_schemas import (
    KpiCreate,
    MeasurementCreate,
    PartnerAdd,
    PilotCreate,
    UpdateCreate,
)
from datatorg.settings import Settings

WASTE = "avfall-husholdninger"
BINS = "avfallsbeholdere-fyllingsgrad"  # the waste containers' live sensor stream
BINS_OFFER = "Drift og forskning"  # the sensor vendor's offer on its stream (demo/sensors.py)
BINS_STEWARD = "publisher@fjordsensor.demo.datatorg.no"  # the vendor's publisher and steward
# The KPI queries depend on these columns of the demo contents (demo/contents/environment.py)
# and of the WasteContainer stream (sensors/sdm.py); tests/pilots/test_demo.py checks them
# against the contents' own SQL and against the stream's files in the lake, with DuckDB.
WASTE_KPI = "_agg=sum(tonn)&_bucket=month&fraksjon=Restavfall"
BINS_KPI = "_agg=avg(fillingLevel)&_bucket=day"


def waste_pilot(
    session: Session, settings: Settings, idea: Idea, coord: Actor, today: date
) -> Pilot:
    lead = actor(session, "utvikler@gronn-start.demo.datatorg.no")
    pilot = lab.create_pilot(
        session=session,
        settings=settings,
        actor=coord,
        data=PilotCreate(
            idea_id=idea.id,
            title="Sensorbasert avfallstømming i Tistedal",
            summary="Avfallsdunkene i Halden melder fyllingsgraden hver time; i Tistedal "
            "kjører bilen bare til dunkene som er nesten fulle.",
            purpose="ImprovePublicServices",
            lead_id=lead.user_id,
            phases=phases(today, "co_creation"),
        ),
    )
    lab.add_partner(
        session=session,
        actor=coord,
        pilot_id=pilot.id,
        data=PartnerAdd(organisation="fjordsensor", contribution="Sensorer og LoRaWAN"),
    )
    _bins_kpi(session, settings, pilot, lead, today)
    if dataset(session, WASTE) is not None:
        lab.create_kpi(
            session=session,
            settings=settings,
            actor=lead,
            pilot_id=pilot.id,
            data=KpiCreate.model_validate(
                {
                    "name": "Restavfall samlet inn",
                    "unit": "tonn per måned",
                    "direction": "decrease",
                    "sdg": 12,
                    "source": "dataset",
                    "dataset": WASTE,
                    "query": WASTE_KPI,
                    "schedule": "weekly",
                }
            ),
        )
    kpi = lab.create_kpi(
        session=session,
        settings=settings,
        actor=lead,
        pilot_id=pilot.id,
        data=KpiCreate.model_validate(
            {
                "name": "Tømminger per uke",
                "unit": "tømminger",
                "baseline": 80,
                "target": 50,
                "direction": "decrease",
                "sdg": 12,
            }
        ),
    )
    for weeks, value in ((7, 80), (6, 78), (5, 71), (4, 66), (3, 60), (2, 58), (1, 55)):
        lab.add_value(
            session=session,
            actor=lead,
            pilot_id=pilot.id,
            kpi_id=kpi.id,
            data=MeasurementCreate(period=today - timedelta(weeks=weeks), value=value),
        )
    lab.post_update(
        session=session,
        actor=lead,
        pilot_id=pilot.id,
        data=UpdateCreate(
            title="Sensorene er montert", body="Alle dunkene i Tistedal melder nå fyllingsgrad."
        ),
    )
    return pilot


def _bins_kpi(session: Session, settings: Settings, pilot: Pilot, lead: Actor, today: date) -> None:
    """The containers' mean filling level per day, read from the sensor vendor's live stream
    under the agreement the pilot asks for (the stream is not open data)."""
    bins = dataset(session, BINS)
    if bins is None:
        return  # the sensors' demo part makes the stream and its offer
    offer = session.scalar(
        select(Offer).where(Offer.dataset_id == bins.id, Offer.title == BINS_OFFER)
    )
    if offer is None:
        return
    ask_for_data(
        session,
        settings,
        pilot,
        lead,
        offer,
        steward=BINS_STEWARD,
        organisation="gronn-start",
        description="Fyllingsgraden i dunkene time for time, for pilotens KPI-er.",
        today=today,
    )
    lab.create_kpi(
        session=session,
        settings=settings,
        actor=lead,
        pilot_id=pilot.id,
        data=KpiCreate.model_validate(
            {
                "name": "Gjennomsnittlig fyllingsgrad i dunkene",
                "unit": "andel full (0–1)",
                "direction": "increase",
                "sdg": 12,
                "source": "dataset",
                "dataset": BINS,
                "query": BINS_KPI,
                "schedule": "daily",
            }
        ),
    )
