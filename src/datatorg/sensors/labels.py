"""Plain words for the codes the sensor pages show: measured attributes, measured codes
(``lidOpen``, ``defectiveLamp`` …) and the map's levels, in bokmål and English.

Written in the shape of journeys' label registry (``web/labels.py``: ``register(kind,
{code: (bokmål, English)})``), so that when it lands, switching is ``register`` of each kind
in ``KINDS`` and ``label`` delegating to ``web.labels.label``. Until then ``label`` picks
the request's language itself. A code without words is shown as is (a measured string
the stream's owner defined); the codes of the demo's Smart Data Models all have words.
"""

from __future__ import annotations

from datatorg.web.i18n import current_locale

ATTRIBUTE = "sensor_attribute"  # a measured attribute's name
VALUE = "sensor_value"  # a measured code
LEVEL = {  # what the map's colours mean, per entity type: level → words
    "AirQualityObserved": "sensor_level_air",
    "WasteContainer": "sensor_level_waste",
    "ParkingSpot": "sensor_level_parking",
    "EVChargingStation": "sensor_level_charging",
    "TrafficFlowObserved": "sensor_level_traffic",
    "Streetlight": "sensor_level_light",
}
STATION = "sensor_level_other"

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


def label(kind: str, code: str) -> str:
    """``code`` of ``kind`` in words in the request's language (the code if it has none)."""
    words = KINDS.get(kind, {}).get(code)
    if words is None:
        return code
    return words[1] if current_locale() == "en" else words[0]


def legend(type_name: str) -> dict[str, str]:
    """The map's levels of an entity type in words (level → words)."""
    kind = LEVEL.get(type_name, STATION)
    return {level: label(kind, level) for level in KINDS[kind]}
