"""Demo sensor streams of Halden: seven Smart Data Models, their devices and a day of history.

Idempotent: a stream, a device or a history is made only when missing. The devices and
readings come from ``sensors.simulator`` (seeded), so ``datatorg simulate`` continues the
history the demo loads. Waste containers belong to the demo sensor vendor and are not open
(an agreement is needed to read them); the others are open data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.catalog.models import AccessRights, Classification, Dataset, DatasetStatus
from datatorg.identity import service as identity
from datatorg.identity.models import Organisation
from datatorg.market import service as market
from datatorg.market.models import Offer
from datatorg.market.schemas import OfferCreate
from datatorg.sensors import service, simulator
from datatorg.sensors.ingest import Observation, Parsed
from datatorg.sensors.models import SensorEntity
from datatorg.sensors.sdm import MODELS, SdmModel
from datatorg.settings import Settings

# a dataset names its licence by the catalog's code, an offer (ODRL) by its address
NLOD = "NLOD-2.0"
NLOD_IRI = "https://data.norge.no/nlod/no/2.0"


@dataclass(frozen=True)
class DemoStream:
    slug: str
    type_name: str
    org: str
    open_data: bool
    title_nb: str
    title_en: str


STREAMS = [
    DemoStream(
        "luftkvalitet-sanntid",
        "AirQualityObserved",
        "fjordsensor",
        True,
        "Luftkvalitet i sanntid",
        "Air quality, live",
    ),
    DemoStream(
        "avfallsbeholdere-fyllingsgrad",
        "WasteContainer",
        "fjordsensor",
        False,
        "Fyllingsgrad i avfallsbeholdere",
        "Waste container filling levels",
    ),
    DemoStream(
        "trafikkflyt-sanntid",
        "TrafficFlowObserved",
        "halden-kommune",
        True,
        "Trafikkflyt i sanntid",
        "Traffic flow, live",
    ),
    DemoStream(
        "ladestasjoner-sanntid",
        "EVChargingStation",
        "halden-kommune",
        True,
        "Ledige ladepunkter",
        "Free EV charging points",
    ),
    DemoStream(
        "vaer-sanntid", "WeatherObserved", "halden-kommune", True, "Vær i sanntid", "Weather, live"
    ),
    DemoStream(
        "parkeringsplasser-sanntid",
        "ParkingSpot",
        "halden-kommune",
        True,
        "Ledige parkeringsplasser",
        "Free parking spots",
    ),
    DemoStream(
        "gatelys-status",
        "Streetlight",
        "halden-kommune",
        True,
        "Gatelys: drift og feil",
        "Street lights: state and faults",
    ),
]


def _dataset(session: Session, d: DemoStream) -> Dataset | None:
    found = session.scalar(select(Dataset).where(Dataset.slug == d.slug))
    if found is not None:
        return found
    org = session.scalar(select(Organisation).where(Organisation.slug == d.org))
    if org is None:
        return None
    ds = Dataset(
        slug=d.slug,
        title_nb=d.title_nb,
        title_en=d.title_en,
        description_nb=f"Målinger fra sensorer i Halden etter Smart Data Models ({d.type_name}), "
        "oppdatert fortløpende. Også som NGSI-LD.",
        description_en=f"Readings of sensors in Halden following Smart Data Models "
        f"({d.type_name}), updated continuously. Also served as NGSI-LD.",
        publisher_id=org.id,
        access_rights=AccessRights.public if d.open_data else AccessRights.restricted,
        classification=Classification.open if d.open_data else Classification.restricted,
        status=DatasetStatus.published,
        license=NLOD if d.open_data else "agreement",
        frequency="CONT",
        conforms_to=[MODELS[d.type_name].type_iri],
    )
    session.add(ds)
    session.flush()
    return ds


def static_attributes(model: SdmModel, device: simulator.Device) -> dict[str, Any]:
    """A device's attributes that do not change (normalized, expanded names)."""
    attrs: dict[str, Any] = {
        model.iri("name"): {"type": "Property", "value": device.name},
    }
    for key, value in model.static.items():
        attrs[model.iri(key)] = {"type": "Property", "value": value}
    if model.type_name == "ParkingSpot":
        attrs[model.iri("refParkingSite")] = {
            "type": "Relationship",
            "object": "urn:ngsi-ld:ParkingSite:halden-sentrum",
        }
    return attrs


def keyvalues(model: SdmModel, ent: SensorEntity) -> dict[str, Any]:
    """An entity in keyValues form with short SDM names (for validation and pages)."""
    reverse = {model.iri(m.name): m.name for m in model.measured}
    for key in ("name", "location", "refParkingSite", *model.static, "status"):
        reverse[model.iri(key)] = key
    out: dict[str, Any] = {"id": ent.id, "type": model.type_name}
    for iri, attr in ent.attrs.items():
        name = reverse.get(iri)
        if name is None or not isinstance(attr, dict):
            continue
        out[name] = attr.get("object") if attr.get("type") == "Relationship" else attr.get("value")
    if model.time_attribute and ent.observed_at is not None:
        out[model.time_attribute] = ent.observed_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return out


def _offer(session: Session, ds: Dataset, columns: list[str]) -> None:
    """An offer on a non-open stream, so it can be asked for (every non-open demo dataset
    has one)."""
    from datatorg.demo.market_offers import _publisher

    if ds.is_open or session.scalar(select(Offer.id).where(Offer.dataset_id == ds.id).limit(1)):
        return
    user = _publisher(session, ds.publisher_id)
    if user is None:  # load_identity gives every demo organisation a publisher
        raise RuntimeError(f"no publisher of {ds.slug}'s organisation to set its offer as")
    market.create_offer(
        session=session,
        actor=identity.actor_for_user(session=session, user=user),
        data=OfferCreate(
            dataset=ds.slug,
            title="Drift og forskning",
            licence=NLOD_IRI,
            purposes=["ImprovePublicServices", "ScientificResearch", "ServiceProvision"],
            consumer_kinds=["public_sector", "research", "education", "business"],
            columns=columns,
            max_period_days=365,
            calls_per_day=5000,
        ),
    )


def load(
    *, session: Session, settings: Settings, seed: int = simulator.SEED, only: str | None = None
) -> dict[str, int]:
    """Streams, devices and a day of readings (``only``: one entity type); rows loaded per
    stream slug."""
    fleet = simulator.devices(seed)
    start, end = simulator.history_window()
    out: dict[str, int] = {}
    for d in STREAMS:
        if only is not None and d.type_name != only:
            continue
        ds = _dataset(session, d)
        if ds is None:
            continue
        model = MODELS[d.type_name]
        try:
            ref = service.get_stream(session=session, ref=d.slug)
        except Exception:  # not a stream yet
            service.create_stream(
                session=session,
                actor=None,
                dataset=ds,
                type_name=d.type_name,
                entity_type=model.type_iri,
                attributes=model.stream_attributes(),
            )
            session.flush()
            ref = service.get_stream(session=session, ref=d.slug)
        _offer(session, ds, [f["name"] for f in service.stream_schema(ref.stream)["fields"]])
        devices = [x for x in fleet if x.type_name == d.type_name]
        fresh = []
        for device in devices:
            if session.get(SensorEntity, device.entity_id) is None:
                service.register_entity(
                    session=session,
                    stream=ref.stream,
                    entity_id=device.entity_id,
                    attrs=static_attributes(model, device),
                    latitude=device.latitude,
                    longitude=device.longitude,
                )
                fresh.append(device)
        session.flush()
        if not fresh:
            continue
        parsed = Parsed(
            observations=[
                Observation(device.entity_id, at, simulator.reading(device, at, seed))
                for device in fresh
                for at in simulator.observed_times(device, start, end)
            ]
        )
        outcome = service.ingest(
            session=session, settings=settings, ref=ref, parsed=parsed, channel="http"
        )
        out[d.slug] = outcome.accepted
    return out
