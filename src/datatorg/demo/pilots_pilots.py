"""The living lab demo's pilots: energy use in municipal buildings (running, with a KPI computed
through the gate from the demo's energy data) and a completed street-lighting pilot with its
final evaluation and a report; the waste pilot is in ``demo/pilots_waste.py``."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.catalog.models import Dataset
from datatorg.identity import service as identity
from datatorg.identity.actor import Actor
from datatorg.market import service as market
from datatorg.market.models import Offer
from datatorg.market.schemas import OfferCreate
from datatorg.pilots import service as lab
from datatorg.pilots.models import Direction, Idea, Kpi, Measurement, Pilot
from datatorg.pilots.pilot_schemas import (
    DataRequestCreate,
    KpiCreate,
    MeasurementCreate,
    PartnerAdd,
    PhaseDates,
    PilotCreate,
    ResourceCreate,
    ResourceDecision,
    ResultCreate,
    UpdateCreate,
)
from datatorg.settings import Settings

ENERGY = "energibruk-kommunale-bygg"
RESEARCH_OFFER = "Forskning og undervisning"  # the market demo's offer on the energy data
# The KPI query depends on these columns of the demo contents (demo/contents/energy.py);
# tests/pilots/test_demo.py checks it against the contents' own SQL.
ENERGY_KPI = "_agg=sum(kwh)&_bucket=month&bygningstype=Skole"


def set_baseline(session: Session, kpi: Kpi) -> None:
    """A computed demo KPI without a baseline gets the mean of its first twelve periods (the
    year before the pilot) and a target a tenth better, whatever the size of the demo
    contents."""
    if kpi.baseline is not None:
        return
    first = session.scalars(
        select(Measurement.value)
        .where(Measurement.kpi_id == kpi.id)
        .order_by(Measurement.period)
        .limit(12)
    ).all()
    if first:
        mean = sum(first) / len(first)
        digits = 0 if abs(mean) >= 10 else 2  # a share (0–1) keeps its decimals
        kpi.baseline = round(mean, digits)
        better = 0.9 if kpi.direction == Direction.decrease else 1.1
        kpi.target = round(kpi.baseline * better, digits)


def actor(session: Session, email: str) -> Actor:
    user = identity.get_user_by_email(session=session, email=email)
    assert user is not None, email
    return identity.actor_for_user(session=session, user=user)


def dataset(session: Session, slug: str) -> Dataset | None:
    return session.scalar(select(Dataset).where(Dataset.slug == slug))


def phases(today: date, now: str) -> list[PhaseDates]:
    order = ["exploration", "co_creation", "experimentation", "evaluation"]
    at = order.index(now)
    out, start = [], today - timedelta(days=60 * at + 20)
    for phase in order:
        out.append(
            PhaseDates.model_validate(
                {"phase": phase, "starts_on": start, "ends_on": start + timedelta(days=59)}
            )
        )
        start += timedelta(days=60)
    return out


def energy_pilot(
    session: Session, settings: Settings, idea: Idea, coord: Actor, today: date
) -> Pilot:
    lead = actor(session, "forsker@ife.demo.datatorg.no")
    pilot = lab.create_pilot(
        session=session,
        settings=settings,
        actor=coord,
        data=PilotCreate(
            idea_id=idea.id,
            title="Energistyring i kommunale bygg",
            summary="Fem skoler styrer ventilasjon og lys etter timeplanen, og energibruken "
            "følges måned for måned fra kommunens energioppfølging.",
            purpose="ImprovePublicServices",
            lead_id=lead.user_id,
            phases=phases(today, "experimentation"),
            recruiting=True,
            participation_text="Lærere og elever svarer på en kort undersøkelse om "
            "inneklimaet hver måned.",
        ),
    )
    for org, what in (("ife", "Analyse og metode"), ("halden-kommune", "Bygg og drift")):
        lab.add_partner(
            session=session,
            actor=coord,
            pilot_id=pilot.id,
            data=PartnerAdd(organisation=org, contribution=what),
        )
    res = lab.request_resource(
        session=session,
        actor=lead,
        pilot_id=pilot.id,
        data=ResourceCreate(kind="competence", description="Driftsoperatør i 20 %", amount="1 år"),
    )
    lab.decide_resource(
        session=session,
        actor=coord,
        pilot_id=pilot.id,
        resource_id=res.id,
        data=ResourceDecision(status="granted", note="Eiendomsavdelingen stiller med en."),
    )
    lab.request_resource(
        session=session,
        actor=lead,
        pilot_id=pilot.id,
        data=ResourceCreate(kind="infrastructure", description="CO₂-målere i 20 klasserom"),
    )
    energy = dataset(session, ENERGY)
    if energy is not None:
        _energy_data(session, settings, pilot, energy, lead, today)
    lab.create_kpi(
        session=session,
        settings=settings,
        actor=lead,
        pilot_id=pilot.id,
        data=KpiCreate.model_validate(
            {
                "name": "Strømforbruk i skolene",
                "unit": "kWh per måned",
                "direction": "decrease",
                "sdg": 7,
                "source": "dataset",
                "dataset": ENERGY,
                "query": ENERGY_KPI,
                "schedule": "daily",
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
                "name": "Klasserom med timestyrt ventilasjon",
                "unit": "rom",
                "baseline": 0,
                "target": 60,
                "direction": "increase",
                "sdg": 11,
            }
        ),
    )
    for weeks, value in ((10, 4), (8, 12), (6, 20), (4, 31), (2, 38), (0, 45)):
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
            title="Første skole i gang",
            body="Os skole styrer nå ventilasjonen etter timeplanen.",
            kind="milestone",
        ),
    )
    citizen = actor(session, "citizen@demo.datatorg.no")
    lab.join(session=session, settings=settings, actor=citizen, pilot_id=pilot.id)
    return pilot


def _energy_data(
    session: Session, settings: Settings, pilot: Pilot, dataset: Dataset, lead: Actor, today: date
) -> None:
    """A request from the pilot under the research offer, and the steward's approval."""
    offer = session.scalar(
        select(Offer).where(Offer.dataset_id == dataset.id, Offer.title == RESEARCH_OFFER)
    )
    if offer is None or "ImprovePublicServices" not in offer.purposes:
        offer = market.create_offer(
            session=session,
            actor=actor(session, "publisher@demo.datatorg.no"),
            data=OfferCreate(
                dataset=dataset.slug,
                title="Aggregater for piloter i det levende laboratoriet",
                purposes=["ImprovePublicServices", "CombatClimateChange"],
                consumer_kinds=["research", "education", "business", "public_sector"],
                aggregate_only=True,
                max_period_days=365,
                calls_per_day=200,
            ),
        )
    ask_for_data(
        session,
        settings,
        pilot,
        lead,
        offer,
        steward="steward@demo.datatorg.no",
        organisation="ife",
        description="Månedlig strømforbruk i skolebyggene, for pilotens KPI-er.",
        today=today,
    )


def ask_for_data(
    session: Session,
    settings: Settings,
    pilot: Pilot,
    lead: Actor,
    offer: Offer,
    *,
    steward: str,
    organisation: str,
    description: str,
    today: date,
) -> None:
    """A request from the pilot under ``offer``, and the provider's steward's approval: the
    agreement the pilot's KPIs read under."""
    request = lab.request_data(
        session=session,
        settings=settings,
        actor=lead,
        pilot_id=pilot.id,
        data=DataRequestCreate(
            offer_id=offer.id,
            description=description,
            period_start=today,
            period_end=today + timedelta(days=300),
            organisation=organisation,
        ),
    )
    market.approve(
        session=session,
        settings=None,
        actor=actor(session, steward),
        request_id=request.id,
        reason="Godkjent for piloten.",
    )


def completed_pilot(
    session: Session, settings: Settings, idea: Idea, coord: Actor, today: date
) -> None:
    pilot = lab.create_pilot(
        session=session,
        settings=settings,
        actor=coord,
        data=PilotCreate(
            idea_id=idea.id,
            title="Behovsstyrt gatelys i Fredriksten",
            purpose="CombatClimateChange",
            phases=phases(today, "evaluation"),
        ),
    )
    lab.add_report(
        session=session,
        settings=settings,
        actor=coord,
        pilot_id=pilot.id,
        title="Sluttrapport",
        filename="sluttrapport-gatelys.txt",
        content=b"Sluttrapport: behovsstyrt gatelys i Fredriksten.\n"
        b"Energibruken for gatelyset gikk ned med 38 %.\n",
    )
    lab.conclude(
        session=session,
        settings=settings,
        actor=coord,
        pilot_id=pilot.id,
        data=ResultCreate(
            outcome="scale",
            summary="Gatelyset brukte 38 % mindre strøm uten at folk følte seg mindre trygge.",
            lessons="Sensorene må sitte lavere i trange gater; innbyggerne ville ha varsel "
            "før lyset dimmes.",
        ),
    )
