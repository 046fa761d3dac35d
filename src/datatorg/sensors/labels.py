"""Words for the sensor domain's codes, registered in the platform's label registry
(``datatorg.web.labels``, found by name): measured attributes, measured codes (``lidOpen``,
``defectiveLamp`` …), the map's levels, the columns every stream has, the ingest counters'
outcomes and the NGSI-LD subscription states, in bokmål and English.

A code without words is shown as is (a measured string the stream's owner defined); the
codes of the demo's Smart Data Models all have words. Units are symbols (UN/CEFACT common
codes, as NGSI-LD's ``unitCode`` carries them, → what a reader writes).
"""

from __future__ import annotations

from datatorg.web import labels as registry
from datatorg.web.labels import register

ATTRIBUTE = "sensor_attribute"  # a measured attribute's name
VALUE = "sensor_value"  # a measured code
COLUMN = "sensor_column"  # the columns every stream's dataset has
DESCRIPTION = "sensor_description"  # what a stream column holds (attributes and columns)
OUTCOME = "sensor_outcome"  # the ingest counters' outcomes
SUBSCRIPTION = "ngsi_subscription_status"
LEVEL = {  # what the map's colours mean, per entity type: level → words
    "AirQualityObserved": "sensor_level_air",
    "WasteContainer": "sensor_level_waste",
    "ParkingSpot": "sensor_level_parking",
    "EVChargingStation": "sensor_level_charging",
    "TrafficFlowObserved": "sensor_level_traffic",
    "Streetlight": "sensor_level_light",
}
STATION = "sensor_level_other"

# UN/CEFACT common code → the symbol a reader writes; fractions (P1, 0–1) are shown as
# percent on the live pages and as "0–1" in the dataset's column list (the stored values).
UNITS = {"GQ": "µg/m³", "CEL": "°C", "KMH": "km/h", "MTS": "m/s", "MMT": "mm", "P1": "0–1"}

KINDS: dict[str, dict[str, tuple[str, str]]] = {
    ATTRIBUTE: {
        "no2": ("NO₂", "NO₂"),
        "pm10": ("PM10", "PM10"),
        "pm25": ("PM2.5", "PM2.5"),
        "temperature": ("Temperatur", "Temperature"),
        "intensity": ("Kjøretøy", "Vehicles"),
        "averageVehicleSpeed": ("Gjennomsnittsfart", "Average speed"),
        "occupancy": ("Belegg på veien", "Road occupancy"),
        "relativeHumidity": ("Luftfuktighet", "Humidity"),
        "windSpeed": ("Vind", "Wind"),
        "precipitation": ("Nedbør", "Precipitation"),
        "fillingLevel": ("Fyllingsgrad", "Filling level"),
        "status": ("Status", "State"),
        "powerState": ("Lys", "Light"),
        "illuminanceLevel": ("Lysstyrke", "Brightness"),
        "availableCapacity": ("Ledige ladepunkter", "Free charging points"),
    },
    COLUMN: {
        "entityId": ("Enhet", "Device"),
        "observedAt": ("Målt", "Observed at"),
        "latitude": ("Breddegrad", "Latitude"),
        "longitude": ("Lengdegrad", "Longitude"),
    },
    DESCRIPTION: {
        "entityId": (
            "Enhetens id (NGSI-LD, urn:ngsi-ld:…)",
            "The device's id (NGSI-LD, urn:ngsi-ld:…)",
        ),
        "observedAt": (
            "Når verdiene ble målt (UTC)",
            "When the values were observed (UTC)",
        ),
        "latitude": (
            "Enhetens posisjon, grader nord (WGS 84)",
            "The device's position, degrees north (WGS 84)",
        ),
        "longitude": (
            "Enhetens posisjon, grader øst (WGS 84)",
            "The device's position, degrees east (WGS 84)",
        ),
        "no2": ("Nitrogendioksid i lufta", "Nitrogen dioxide in the air"),
        "pm10": ("Svevestøv mindre enn 10 µm", "Particulate matter under 10 µm"),
        "pm25": ("Svevestøv mindre enn 2,5 µm", "Particulate matter under 2.5 µm"),
        "temperature": ("Lufttemperatur", "Air temperature"),
        "intensity": (
            "Antall kjøretøy som passerte siden forrige måling",
            "Vehicles that passed since the previous reading",
        ),
        "averageVehicleSpeed": ("Kjøretøyenes gjennomsnittsfart", "The vehicles' average speed"),
        "occupancy": (
            "Andel av tiden et kjøretøy sto over måleren (0–1)",
            "Share of the time a vehicle was over the counter (0–1)",
        ),
        "relativeHumidity": ("Relativ luftfuktighet (0–1)", "Relative humidity (0–1)"),
        "windSpeed": ("Vindhastighet", "Wind speed"),
        "precipitation": (
            "Nedbør siden forrige måling",
            "Precipitation since the previous reading",
        ),
        "fillingLevel": (
            "Hvor full beholderen er, fra 0 (tom) til 1 (full)",
            "How full the container is, from 0 (empty) to 1 (full)",
        ),
        "status": ("Tilstand (ord fra datamodellen)", "State (a term of the data model)"),
        "powerState": ("Om lyset er på, av eller dempet", "Whether the light is on, off or dimmed"),
        "illuminanceLevel": ("Lysstyrke, fra 0 til 1", "Brightness, from 0 to 1"),
        "availableCapacity": ("Ladepunkter som er ledige nå", "Charging points free now"),
    },
    VALUE: {
        "free": ("ledig", "free"),
        "occupied": ("opptatt", "occupied"),
        "closed": ("stengt", "closed"),
        "unknown": ("ukjent", "unknown"),
        "ok": ("i orden", "in order"),
        "lidOpen": ("lokket åpent", "lid open"),
        "dropped": ("veltet", "knocked over"),
        "moved": ("flyttet", "moved"),
        "vandalized": ("skadeverk", "vandalised"),
        "burning": ("brenner", "burning"),
        "on": ("på", "on"),
        "off": ("av", "off"),
        "low": ("dempet", "dimmed"),
        "bootingUp": ("starter", "starting"),
        "defectiveLamp": ("defekt lampe", "defective lamp"),
        "brokenLantern": ("knust lykt", "broken lantern"),
        "columnIssue": ("skadet stolpe", "damaged pole"),
    },
    OUTCOME: {
        "accepted": ("lagret", "stored"),
        "duplicate": ("dublett (ikke lagret)", "duplicate (not stored)"),
        "out_of_order": ("eldre enn siste måling (lagret)", "older than the latest (stored)"),
        "malformed": ("feil i meldingen (ikke lagret)", "malformed (not stored)"),
        "unknown_device": ("ukjent enhet (ikke lagret)", "unknown device (not stored)"),
    },
    SUBSCRIPTION: {
        "active": ("aktiv", "active"),
        "paused": ("satt på pause", "paused"),
        "expired": ("utløpt", "expired"),
    },
    "sensor_level_air": {
        "good": ("NO₂ under 40 µg/m³", "NO₂ under 40 µg/m³"),
        "fair": ("40–100", "40–100"),
        "poor": ("over 100", "over 100"),
    },
    "sensor_level_waste": {
        "good": ("under halvfull", "under half full"),
        "fair": ("halvfull", "half full"),
        "poor": ("80 % eller mer", "80 % or more"),
    },
    "sensor_level_parking": {"good": ("ledig", "free"), "poor": ("opptatt", "occupied")},
    "sensor_level_charging": {
        "good": ("2 eller flere ledige", "2 or more free"),
        "fair": ("1 ledig", "1 free"),
        "poor": ("ingen ledige", "none free"),
    },
    "sensor_level_traffic": {
        "good": ("flyter", "flowing"),
        "fair": ("tett", "busy"),
        "poor": ("kø", "congested"),
    },
    "sensor_level_light": {"good": ("i orden", "in order"), "poor": ("feil", "fault")},
    STATION: {"none": ("stasjon", "station")},
}

for _kind, _words in KINDS.items():
    register(_kind, _words)


def label(kind: str, code: str, locale: str | None = None) -> str:
    """``code`` of ``kind`` in words in ``locale`` (default: the request's language); the
    code itself if it has none."""
    return registry.label(kind, code, locale)


def words(kind: str, code: str) -> tuple[str, str] | None:
    """``(bokmål, English)`` of ``code``, or None."""
    return KINDS.get(kind, {}).get(code)


def unit_symbol(unit: str) -> str:
    """The symbol of a UN/CEFACT unit code (empty when unknown)."""
    return UNITS.get(unit, "")


def legend(type_name: str) -> dict[str, str]:
    """The map's levels of an entity type in words (level → words)."""
    kind = LEVEL.get(type_name, STATION)
    return {level: label(kind, level) for level in KINDS[kind]}


def column_words(name: str) -> tuple[str, str] | None:
    """A stream column's title (bokmål, English): the common columns' and the measured
    attributes' words (None for an attribute the registry does not know)."""
    return words(COLUMN, name) or words(ATTRIBUTE, name)


def describe(name: str) -> tuple[str, str] | None:
    """What a stream column holds (bokmål, English), when known."""
    return words(DESCRIPTION, name)
