"""Energy: municipal buildings, street lights, solar roofs, district heating, indoor climate."""

from __future__ import annotations

from datatorg.demo.contents.base import Col, Contents, pick, span, table, u

# id, name, kind, area m², main heat source
BUILDINGS = [
    ("B01", "Halden rådhus", "Administrasjon", 6200, "Fjernvarme"),
    ("B02", "Hjortsberg skole", "Skole", 5400, "Varmepumpe"),
    ("B03", "Os skole", "Skole", 4800, "Fjernvarme"),
    ("B04", "Gimle skole", "Skole", 3900, "Varmepumpe"),
    ("B05", "Låby skole", "Skole", 3300, "Elektrisitet"),
    ("B06", "Tistedal skole", "Skole", 4100, "Bioenergi"),
    ("B07", "Idd skole", "Skole", 3700, "Varmepumpe"),
    ("B08", "Strupe ungdomsskole", "Skole", 6900, "Fjernvarme"),
    ("B09", "Kongeveien skole", "Skole", 4300, "Fjernvarme"),
    ("B10", "Brødløs barnehage", "Barnehage", 900, "Varmepumpe"),
    ("B11", "Tistedal barnehage", "Barnehage", 1100, "Elektrisitet"),
    ("B12", "Idd barnehage", "Barnehage", 850, "Varmepumpe"),
    ("B13", "Rokke barnehage", "Barnehage", 700, "Elektrisitet"),
    ("B14", "Risum sykehjem", "Sykehjem", 8800, "Fjernvarme"),
    ("B15", "Halden sykehjem", "Sykehjem", 9600, "Fjernvarme"),
    ("B16", "Tistedal omsorgssenter", "Sykehjem", 4200, "Bioenergi"),
    ("B17", "Halden svømmehall", "Idrettshall", 5200, "Fjernvarme"),
    ("B18", "Remmenhallen", "Idrettshall", 4400, "Varmepumpe"),
    ("B19", "Tistedalshallen", "Idrettshall", 2600, "Elektrisitet"),
    ("B20", "Brygga kultursenter", "Kultur", 5100, "Fjernvarme"),
    ("B21", "Halden bibliotek", "Kultur", 2300, "Fjernvarme"),
    ("B22", "Bergheim brannstasjon", "Administrasjon", 2100, "Varmepumpe"),
]


def _energy(small: bool) -> str:
    days = span(small, 731, 14)  # 2024–2025, daily
    rows = table(BUILDINGS, "b(bygg_id, byggnavn, bygningstype, areal, kilde)")
    return f"""
SELECT DATE '2024-01-01' + CAST(d AS INTEGER) AS dato, b.bygg_id, b.byggnavn, b.bygningstype,
  CAST(b.areal AS BIGINT) AS areal_m2, b.kilde AS energikilde,
  round(b.areal * (CASE b.bygningstype WHEN 'Sykehjem' THEN 0.62 WHEN 'Idrettshall' THEN 0.7
                   WHEN 'Skole' THEN 0.42 WHEN 'Barnehage' THEN 0.45 ELSE 0.4 END)
        * (1.0 + 0.65 * cos((d - 15) / 365.25 * 2 * pi()))
        * (CASE WHEN b.bygningstype IN ('Skole', 'Barnehage', 'Administrasjon')
                 AND (d + 0) % 7 IN (5, 6) THEN 0.55 ELSE 1 END)
        * (0.9 + 0.2 * {u("d * 31 + b.areal")}), 1) AS kwh
FROM range({days}) r(d) CROSS JOIN {rows}
ORDER BY dato, bygg_id
"""


ZONES = ["Sentrum", "Brødløs", "Tistedal", "Idd", "Berg", "Rokke", "Os", "Bergheim"]


def _street_lights(small: bool) -> str:
    months = span(small, 96, 12)  # 2018–2025, monthly
    return f"""
SELECT CAST(DATE '2018-01-01' + to_months(m) AS DATE) AS maaned, {pick(ZONES, "z")} AS sone,
  CAST(300 + 120 * (z % 4) AS BIGINT) AS armaturer,
  round(least(100, 15 + 11 * (m / 12.0) + 3 * (z % 3)), 0) AS led_andel_pct,
  round((300 + 120 * (z % 4)) * (1 - 0.55 * least(100, 15 + 11 * (m / 12.0)) / 100)
        * (26 + 22 * cos((m % 12) / 12.0 * 2 * pi())) * 0.1
        * (0.95 + 0.1 * {u("m * 13 + z")}), 0) AS kwh
FROM range({months}) r(m) CROSS JOIN range({len(ZONES)}) q(z)
ORDER BY maaned, sone
"""


ROOFS = [
    ("Halden rådhus", 120.0),
    ("Hjortsberg skole", 210.0),
    ("Os skole", 160.0),
    ("Risum sykehjem", 250.0),
    ("Remmenhallen", 300.0),
]


def _solar(small: bool) -> str:
    hours = span(small, 8784, 48)  # 2024, hourly
    roofs = table(ROOFS, "t(bygg, kwp)")
    season = "sin((h / 24.0 - 80) / 365.25 * 2 * pi())"  # -1 at midwinter, 1 at midsummer
    daylight = f"(12 + 6.5 * {season})"  # hours of daylight in Halden, roughly
    sun = f"greatest(0, sin(((h % 24) + 0.5 - (12.5 - {daylight} / 2)) / {daylight} * pi()))"
    clouds = f"(0.35 + 0.65 * {u('h // 24 * 7 + t.kwp')})"
    strength = f"(0.55 + 0.45 * {season})"
    return f"""
SELECT TIMESTAMP '2024-01-01' + to_hours(h) AS tidspunkt, t.bygg, CAST(t.kwp AS DOUBLE) AS kwp,
  round(850 * {sun} * {strength} * {clouds}, 0) AS innstraling_w_m2,
  round(t.kwp * 0.8 * {sun} * {strength} * {clouds}, 2) AS produksjon_kwh
FROM range({hours}) r(h) CROSS JOIN {roofs}
ORDER BY tidspunkt, bygg
"""


STREETS = [
    "Tollbodgata", "Storgata", "Os allé", "Jernbanetorget", "Tordenskiolds gate", "Svenskeveien",
    "Walkers gate", "Borgergata", "Kongens gate", "Porsnesveien", "Sykehusveien", "Brødløsveien",
]  # fmt: skip


def _district_heating(small: bool) -> str:
    n = span(small, 140, 12)
    return f"""
SELECT 'FV-' || lpad((i + 1)::VARCHAR, 4, '0') AS ledning_id,
  {pick(STREETS, "i * 7")} AS gate,
  CAST([65, 80, 100, 125, 150, 200, 250][(i * 3 % 7) + 1] AS BIGINT) AS dimensjon_mm,
  CAST(round(40 + 360 * {u("i * 17")}) AS BIGINT) AS lengde_m,
  CAST(1986 + (i * 13) % 38 AS BIGINT) AS anlagt_aar,
  round(59.116 + 0.02 * {u("i * 19")}, 5) AS latitude,
  round(11.372 + 0.035 * {u("i * 23")}, 5) AS longitude,
  round(68 + 22 * {u("i * 29")}, 1) AS tilstandsgrad_pct
FROM range({n}) r(i)
ORDER BY ledning_id
"""


ROOMS = [
    ("Hjortsberg skole", "Klasserom 3A"),
    ("Hjortsberg skole", "Klasserom 5B"),
    ("Hjortsberg skole", "Gymsal"),
    ("Os skole", "Klasserom 2A"),
    ("Os skole", "Bibliotek"),
    ("Brødløs barnehage", "Avdeling Ekorn"),
    ("Brødløs barnehage", "Avdeling Rev"),
    ("Halden rådhus", "Møterom Fredriksten"),
]


def _indoor(small: bool) -> str:
    hours = span(small, 4392, 48)  # Jan–Jun 2025, hourly
    rooms = table(ROOMS, "r(bygg, rom)")
    occupied = "((h % 24) BETWEEN 8 AND 15 AND (h // 24) % 7 NOT IN (3, 4))"  # 1 Jan 2025: Wed
    return f"""
SELECT TIMESTAMP '2025-01-01' + to_hours(h) AS tidspunkt, r.bygg, r.rom,
  CAST(round(420 + (CASE WHEN {occupied} THEN 650 ELSE 0 END)
       * (0.6 + 0.7 * {u("h * 31 + length(r.rom)")})) AS BIGINT) AS co2_ppm,
  round(20.5 + (CASE WHEN {occupied} THEN 1.8 ELSE -0.8 END)
        + 0.9 * {u("h * 37 + length(r.rom)")}, 1) AS temperatur_c,
  CAST(round(28 + 10 * cos((h / 24.0) / 182.0 * pi()) * -1 + 8 * {u("h * 41 + length(r.rom)")})
       AS BIGINT) AS fuktighet_pct
FROM range({hours}) t(h) CROSS JOIN {rooms}
ORDER BY tidspunkt, bygg, rom
"""


CONTENTS = [
    Contents(
        "energibruk-kommunale-bygg",
        (
            Col("dato", "date", "Dato", role="time"),
            Col("bygg_id", "string", "Bygg-ID"),
            Col("byggnavn", "string", "Bygg"),
            Col("bygningstype", "string", "Bygningstype"),
            Col("areal_m2", "integer", "Oppvarmet areal", "m²"),
            Col("energikilde", "string", "Viktigste varmekilde"),
            Col("kwh", "number", "Energibruk", "kWh per døgn"),
        ),
        _energy,
    ),
    Contents(
        "gatelys-energi",
        (
            Col("maaned", "date", "Måned", role="time"),
            Col("sone", "string", "Sone"),
            Col("armaturer", "integer", "Lyspunkter", "antall"),
            Col("led_andel_pct", "number", "Andel LED", "%"),
            Col("kwh", "number", "Energibruk", "kWh per måned"),
        ),
        _street_lights,
    ),
    Contents(
        "solceller-kommunale-tak",
        (
            Col("tidspunkt", "datetime", "Tidspunkt (starten av timen)", role="time"),
            Col("bygg", "string", "Bygg"),
            Col("kwp", "number", "Installert effekt", "kWp"),
            Col("innstraling_w_m2", "number", "Solinnstråling", "W/m²"),
            Col("produksjon_kwh", "number", "Produksjon", "kWh per time"),
        ),
        _solar,
    ),
    Contents(
        "fjernvarme-nett",
        (
            Col("ledning_id", "string", "Ledning-ID"),
            Col("gate", "string", "Gate"),
            Col("dimensjon_mm", "integer", "Rørdimensjon", "mm"),
            Col("lengde_m", "integer", "Lengde", "m"),
            Col("anlagt_aar", "integer", "Anlagt år"),
            Col("latitude", "number", "Breddegrad", "grader", "latitude"),
            Col("longitude", "number", "Lengdegrad", "grader", "longitude"),
            Col("tilstandsgrad_pct", "number", "Tilstand", "%"),
        ),
        _district_heating,
    ),
    Contents(
        "sensor-bygg-inneklima",
        (
            Col("tidspunkt", "datetime", "Tidspunkt (starten av timen)", role="time"),
            Col("bygg", "string", "Bygg"),
            Col("rom", "string", "Rom"),
            Col("co2_ppm", "integer", "CO₂", "ppm"),
            Col("temperatur_c", "number", "Temperatur", "°C"),
            Col("fuktighet_pct", "integer", "Relativ luftfuktighet", "%"),
        ),
        _indoor,
    ),
]
