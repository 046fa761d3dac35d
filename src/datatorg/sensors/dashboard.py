"""What the live sensor pages show, for the pages and their JSON twins alike.

Latest values and histories are read through the gate (``ngsi.reads.Reader``, channel
``page``): a restricted stream's page needs what its API needs (an agreement).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datatorg.access import policies as access_policies
from datatorg.errors import NotFound
from datatorg.identity.actor import Actor
from datatorg.sensors import labels, service
from datatorg.sensors.models import SensorEntity
from datatorg.sensors.ngsi.reads import Reader, check_readable
from datatorg.settings import Settings
from datatorg.web import formatting

NAME_IRIS = ("https://smartdatamodels.org/name",)
HISTORY_HOURS = 24


def attribute_label(attribute: dict[str, Any], locale: str) -> str:
    """A measured attribute's name in words: the title its stream's maker gave it, else the
    registry's words, else its name."""
    given = attribute.get("title_en" if locale == "en" else "title_nb")
    if given:
        return str(given)
    other = attribute.get("title_nb" if locale == "en" else "title_en")
    return str(other) if other else labels.label(labels.ATTRIBUTE, attribute["name"], locale)


def value_label(value: Any) -> str:
    """A measured code (``free``, ``lidOpen`` …) in words."""
    return labels.label(labels.VALUE, value) if isinstance(value, str) else str(value)


def unit_label(unit: str) -> str:
    """A unit code's symbol on the live pages (fractions are shown as percent)."""
    return "%" if unit == "P1" else labels.unit_symbol(unit)


def shown(value: Any, unit: str) -> str:
    """A value as a person reads it (fractions as percent, one decimal)."""
    if value is None:
        return "–"
    if isinstance(value, str):
        return value_label(value)
    if unit == "P1":
        return f"{formatting.num(round(float(value) * 100))} %"
    if isinstance(value, float):
        text = formatting.num(value, 1)
    else:
        text = formatting.num(value)
    sign = unit_label(unit)
    return f"{text} {sign}".strip()


# What colours a device on the map: (attribute, level function) per entity type.
def level(type_name: str, values: dict[str, Any]) -> str:
    """``good``, ``fair`` or ``poor`` for the device's main reading (or ``none``)."""

    def band(v: Any, fair: float, poor: float, higher_is_worse: bool = True) -> str:
        if not isinstance(v, int | float):
            return "none"
        if not higher_is_worse:
            v, fair, poor = -v, -fair, -poor
        return "poor" if v >= poor else "fair" if v >= fair else "good"

    if type_name == "AirQualityObserved":
        return band(values.get("no2"), 40, 100)
    if type_name == "WasteContainer":
        return band(values.get("fillingLevel"), 0.5, 0.8)
    if type_name == "TrafficFlowObserved":
        return band(values.get("occupancy"), 0.3, 0.6)
    if type_name == "EVChargingStation":
        return band(values.get("availableCapacity"), 2, 1, higher_is_worse=False)
    if type_name == "ParkingSpot":
        return {"free": "good", "occupied": "poor"}.get(str(values.get("status")), "none")
    if type_name == "Streetlight":
        return "good" if values.get("status") == "ok" else "poor"
    return "none"


def _title(ds: Any, locale: str) -> str:
    return str(ds.title_en if locale == "en" and ds.title_en else ds.title_nb)


def overview(*, session: Session, actor: Actor, locale: str) -> list[dict[str, Any]]:
    """Every stream the caller may see: title, type, devices, newest reading."""
    out = []
    for ref in service.streams(session=session):
        if not access_policies.is_visible(actor, ref.dataset):
            continue
        count, newest = session.execute(
            select(func.count(), func.max(SensorEntity.observed_at)).where(
                SensorEntity.stream_id == ref.stream.id
            )
        ).one()
        out.append(
            {
                "dataset": ref.dataset.slug,
                "title": _title(ref.dataset, locale),
                "type": ref.stream.type_name,
                "devices": int(count or 0),
                "newest": newest.isoformat() if newest else None,
                "open": ref.dataset.is_open,
            }
        )
    return out


@dataclass
class Device:
    id: str
    name: str
    latitude: float | None
    longitude: float | None
    observed_at: str | None
    values: dict[str, Any]
    shown: dict[str, str]
    level: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "observedAt": self.observed_at,
            # the same moment as a reader in Halden writes it (the live page shows this)
            "observedLocal": formatting.local(self.observed_at),
            "values": self.values,
            "shown": self.shown,
            "level": self.level,
        }


def live(
    *, session: Session, settings: Settings, actor: Actor, ref: str, locale: str
) -> dict[str, Any]:
    """A stream's devices with their latest values, read through the gate."""
    dataset, stream = service.find_stream(session=session, ref=ref)
    if stream is None:
        check_readable(
            session=session, settings=settings, actor=actor, dataset=dataset, channel="page"
        )
        raise NotFound("This dataset is not a sensor stream")
    found = service.StreamRef(stream, dataset)
    every = max(1, service.device_count(session=session, stream=found.stream))
    with Reader(session, settings, actor, channel="page", max_rows=every) as reader:
        allowed = reader.decide(found.stream, found.dataset)
        if allowed is None:
            refusal = reader.first_refusal()
            raise refusal if refusal is not None else NotFound("No such dataset")
        attrs = found.stream.attributes
        devices = []
        for ent in session.scalars(
            select(SensorEntity)
            .where(SensorEntity.stream_id == found.stream.id)
            .order_by(SensorEntity.id)
        ):
            values = {}
            for a in attrs:
                attr = ent.attrs.get(a["iri"])
                values[a["name"]] = attr.get("value") if isinstance(attr, dict) else None
            name = next((ent.attrs[i]["value"] for i in NAME_IRIS if i in ent.attrs), ent.id)
            devices.append(
                Device(
                    id=ent.id,
                    name=str(name),
                    latitude=ent.latitude if allowed.position else None,
                    longitude=ent.longitude if allowed.position else None,
                    observed_at=ent.observed_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
                    if ent.observed_at
                    else None,
                    values=values,
                    shown={a["name"]: shown(values[a["name"]], a.get("unit", "")) for a in attrs},
                    level=level(found.stream.type_name, values),
                )
            )
        reader.count(allowed, len(devices))
        reader.finish()
    return {
        "dataset": found.dataset.slug,
        "title": _title(found.dataset, locale),
        "type": found.stream.type_name,
        "attributes": [
            {
                "name": a["name"],
                "label": attribute_label(a, locale),
                "unit": unit_label(a.get("unit", "")),
            }
            for a in attrs
        ],
        "devices": [d.as_dict() for d in devices],
        "open": found.dataset.is_open,
    }


def entity(
    *,
    session: Session,
    settings: Settings,
    actor: Actor,
    ref: str,
    entity_id: str,
    locale: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """One device: its latest values and the last day of each numeric attribute."""
    board = live(session=session, settings=settings, actor=actor, ref=ref, locale=locale)
    device = next((d for d in board["devices"] if d["id"] == entity_id), None)
    if device is None:
        raise NotFound("No such device")
    found = service.get_stream(session=session, ref=ref)
    numeric = [a for a in found.stream.attributes if a["type"] in ("number", "integer")]
    series: dict[str, list[tuple[str, float]]] = {a["name"]: [] for a in numeric}
    if numeric:
        since = (now or datetime.now(UTC)) - timedelta(hours=HISTORY_HOURS)
        reader = Reader(session, settings, actor, channel="page")
        page = reader.history(
            found.dataset,
            [
                ("entityId", entity_id),
                ("observedAt__gte", since.astimezone(UTC).replace(tzinfo=None).isoformat()),
                ("_sort", "observedAt"),
                ("_col", ",".join(["observedAt", *[a["name"] for a in numeric]])),
                ("_size", "2000"),
            ],
        )
        for row in page.rows:
            for a, value in zip(numeric, row[1:], strict=True):
                if value is not None:
                    series[a["name"]].append((str(row[0])[:16], float(value)))
    return board | {
        "device": device,
        "series": series,
        "units": {a["name"]: a.get("unit", "") for a in found.stream.attributes},
    }
