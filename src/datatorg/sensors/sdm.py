"""The FIWARE Smart Data Models the demo sensors follow (OASC MIM2).

Each model names its subject (the SDM repository), the attributes the devices measure
(a stream's columns) and the attribute that carries the observation time. Attribute IRIs
come from the bundled subject @contexts (``contexts/sdm-*.jsonld``, written from the
pysmartdatamodels package by ``scripts/sdm_contexts.py``); ``tests/sensors/test_sdm.py``
validates the demo's entities offline against the schemas in that package.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from datatorg.sensors import vocab

CONTEXTS = Path(__file__).parent / "contexts"


@dataclass(frozen=True)
class Measured:
    name: str
    type: str  # number, integer, string
    unit: str = ""  # UN/CEFACT common code


@dataclass(frozen=True)
class SdmModel:
    type_name: str
    subject: str
    measured: tuple[Measured, ...]
    time_attribute: str | None = None
    static: dict[str, Any] = field(default_factory=dict)  # keyValues of every device

    @property
    def type_iri(self) -> str:
        return f"{vocab.SDM}{self.subject}/{self.type_name}"

    @property
    def context_url(self) -> str:
        return (
            f"https://raw.githubusercontent.com/smart-data-models/{self.subject}/master/"
            "context.jsonld"
        )

    @property
    def context_file(self) -> str:
        return f"sdm-{self.subject.split('.')[-1].lower()}.jsonld"

    def iri(self, attribute: str) -> str:
        """An attribute's IRI under the model's subject context (core terms: the core's)."""
        terms = _terms(self.context_file)
        if attribute in terms:
            return terms[attribute]
        if attribute in ("status", "location"):  # SDM uses the core terms for these
            return vocab.CORE + attribute
        return f"{vocab.SDM}{attribute}"

    def stream_attributes(self) -> list[dict[str, Any]]:
        """The stream definition of the measured attributes (``create_stream``)."""
        return [
            {"name": m.name, "type": m.type, "unit": m.unit, "iri": self.iri(m.name)}
            for m in self.measured
        ]


@cache
def _terms(name: str) -> dict[str, str]:
    path = CONTEXTS / name
    if not path.exists():
        return {}
    found: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))["@context"]
    return found


GQ = "GQ"  # microgram per cubic metre
MODELS: dict[str, SdmModel] = {
    m.type_name: m
    for m in (
        SdmModel(
            "AirQualityObserved",
            "dataModel.Environment",
            (
                Measured("no2", "number", GQ),
                Measured("pm10", "number", GQ),
                Measured("pm25", "number", GQ),
                Measured("temperature", "number", "CEL"),
            ),
            "dateObserved",
        ),
        SdmModel(
            "TrafficFlowObserved",
            "dataModel.Transportation",
            (
                Measured("intensity", "integer"),
                Measured("averageVehicleSpeed", "number", "KMH"),
                Measured("occupancy", "number", "P1"),
            ),
            "dateObserved",
        ),
        SdmModel(
            "WeatherObserved",
            "dataModel.Weather",
            (
                Measured("temperature", "number", "CEL"),
                Measured("relativeHumidity", "number", "P1"),
                Measured("windSpeed", "number", "MTS"),
                Measured("precipitation", "number", "MMT"),
            ),
            "dateObserved",
        ),
        SdmModel(
            "WasteContainer",
            "dataModel.WasteManagement",
            (
                Measured("fillingLevel", "number", "P1"),
                Measured("temperature", "number", "CEL"),
                Measured("status", "string"),
            ),
            "timeInstant",
            {"category": ["fixed", "underground"]},
        ),
        SdmModel(
            "ParkingSpot",
            "dataModel.Parking",
            (Measured("status", "string"),),
            "timeInstant",
            {"category": ["onStreet"]},
        ),
        SdmModel(
            "Streetlight",
            "dataModel.Streetlighting",
            (
                Measured("powerState", "string"),
                Measured("illuminanceLevel", "number", "P1"),
                Measured("status", "string"),
            ),
            "observationDateTime",
        ),
        SdmModel(
            "EVChargingStation",
            "dataModel.Transportation",
            (Measured("availableCapacity", "integer"),),
            "observationDateTime",
            {"socketType": ["Type2"], "allowedVehicleType": ["car"], "capacity": 4},
        ),
    )
}
