"""Environment: air quality, water quality, noise, weather, waste, greenhouse gases."""

from __future__ import annotations

from datatorg.demo.contents.base import Col, Contents, pick, span, table, u

AIR_STATIONS = [
    "Sentrum", "Tistedal", "Brødløs", "Remmen", "Rødsberg", "Idd", "Berg", "Sauøy",
    "Kommandantveien", "Bergheim", "Os allé", "Gimle", "Låby", "Svinesund", "Femsjø", "Torpum",
    "Hjortsberg", "Isebakke", "Fredriksten", "Rokke",
]  # fmt: skip


def _air(small: bool) -> str:
    hours = span(small, 17520, 48)  # 2024–2025, hourly
    names = ", ".join("'" + s + "'" for s in AIR_STATIONS)
    return f"""
SELECT TIMESTAMP '2024-01-01' + to_hours(h) AS dateObserved,
  'HAL-' || lpad(s::VARCHAR, 3, '0') AS stationId, [{names}][s + 1] AS stationName,
  59.12 + (s % 5) * 0.012 AS latitude, 11.38 + (s // 5) * 0.02 AS longitude,
  round(greatest(0, 18 + 10 * sin(h / 24.0 * 2 * pi() - 1.5) + 6 * (s % 4)
        + 12 * {u("h * 97 + s")} - 6), 1) AS no2,
  round(greatest(0, 14 + 6 * cos(h / 8760.0 * 2 * pi()) + 10 * {u("h * 89 + s")}), 1) AS pm10,
  round(greatest(0, 7 + 3 * cos(h / 8760.0 * 2 * pi()) + 5 * {u("h * 83 + s")}), 1) AS pm25
FROM range({hours}) r(h) CROSS JOIN range(20) st(s)
ORDER BY dateObserved, stationId
"""


WATER_POINTS = [
    ("Iddefjorden indre", 59.085, 11.43),
    ("Iddefjorden ytre", 59.06, 11.36),
    ("Tista utløp", 59.122, 11.387),
    ("Svinesund", 59.095, 11.27),
    ("Sauøy", 59.11, 11.345),
]


def _water(small: bool) -> str:
    days = span(small, 2922, 30)  # 2018–2025, daily
    points = table(WATER_POINTS, "p(name, lat, lon)")
    return f"""
SELECT DATE '2018-01-01' + CAST(d AS INTEGER) AS dato, p.name AS malepunkt,
  p.lat AS latitude, p.lon AS longitude,
  round(10 - 8 * cos((d - 20) / 365.25 * 2 * pi()) + 1.5 * {u("d * 3 + p.lat * 1000")}, 1)
    AS temperatur_c,
  round(24 + 6 * (p.lon - 11.27) * 5 + 2 * {u("d * 5 + p.lon * 1000")}, 1) AS saltholdighet_psu,
  round(9.5 + 2.5 * cos((d - 20) / 365.25 * 2 * pi()) - 1.2 * {u("d * 7 + p.lat")}, 2)
    AS oksygen_mg_l,
  CAST(round(5 + 180 * pow({u("d * 11 + p.lat * 100")}, 4)) AS BIGINT) AS e_coli_per_100ml,
  round(3.5 + 1.5 * cos(d / 365.25 * 2 * pi()) + {u("d * 13 + p.lon")}, 1) AS siktdyp_m
FROM range({days}) r(d) CROSS JOIN {points}
ORDER BY dato, malepunkt
"""


NOISE_POINTS = ["Storgata", "Torget", "Os allé", "Busterminalen"]


def _noise(small: bool) -> str:
    hours = span(small, 8784, 48)  # 2024, hourly
    return f"""
SELECT TIMESTAMP '2024-01-01' + to_hours(h) AS tidspunkt,
  {pick(NOISE_POINTS, "p")} AS malepunkt,
  round(48 + 14 * greatest(0, sin((h % 24 - 5) / 24.0 * pi())) + 3 * (p % 3)
        + 3 * {u("h * 17 + p")}, 1) AS laeq_db,
  round(62 + 16 * greatest(0, sin((h % 24 - 5) / 24.0 * pi())) + 8 * {u("h * 19 + p")}, 1)
    AS lmax_db
FROM range({hours}) r(h) CROSS JOIN range(4) q(p)
ORDER BY tidspunkt, malepunkt
"""


def _weather(small: bool) -> str:
    hours = span(small, 17544, 72)  # 2024–2025, hourly
    return f"""
SELECT TIMESTAMP '2024-01-01' + to_hours(h) AS tidspunkt, 'Halden (Brødløs)' AS stasjon,
  round(6.5 - 9.5 * cos((h / 24.0 - 20) / 365.25 * 2 * pi())
        + 3 * sin((h % 24 - 9) / 24.0 * 2 * pi()) + 3 * {u("h * 7")} - 1.5, 1) AS temperatur_c,
  round(CASE WHEN {u("h // 6 * 31")} < 0.12 THEN 1.5 * {u("h * 37")} ELSE 0 END, 1) AS nedbor_mm,
  round(1 + 6 * {u("h // 3 * 41")} * {u("h * 43")}, 1) AS vindhastighet_ms,
  CAST(round(360 * {u("h // 4 * 47")}) AS BIGINT) % 360 AS vindretning_grader,
  CAST(round(60 + 25 * {u("h // 2 * 53")} + 8 * cos(h / 8784.0 * 2 * pi())) AS BIGINT)
    AS luftfuktighet_pct
FROM range({hours}) r(h)
ORDER BY tidspunkt
"""


WASTE = [
    ("Restavfall", 520.0),
    ("Matavfall", 180.0),
    ("Papir og papp", 210.0),
    ("Plastemballasje", 55.0),
    ("Glass- og metallemballasje", 60.0),
    ("Hageavfall", 140.0),
    ("Farlig avfall", 12.0),
]


def _waste(small: bool) -> str:
    months = span(small, 96, 12)  # 2018–2025, monthly
    kinds = table(WASTE, "k(fraksjon, base)")
    return f"""
SELECT CAST(DATE '2018-01-01' + to_months(m) AS DATE) AS maaned, k.fraksjon,
  round(k.base
        * (1 + 0.25 * sin((m % 12 - 2) / 12.0 * 2 * pi()) * (k.fraksjon = 'Hageavfall')::INTEGER)
        * (1 - 0.012 * (m / 12.0) * (k.fraksjon = 'Restavfall')::INTEGER)
        * (0.92 + 0.16 * {u("m * 29 + k.base")}), 1) AS tonn
FROM range({months}) r(m) CROSS JOIN {kinds}
ORDER BY maaned, fraksjon
"""


GHG = [
    ("Veitrafikk", 61000.0, -0.025),
    ("Sjøfart", 9000.0, -0.01),
    ("Jordbruk", 21000.0, -0.004),
    ("Oppvarming", 7000.0, -0.06),
    ("Industri, olje og gass", 39000.0, -0.015),
    ("Avfall og avløp", 6000.0, -0.03),
    ("Energiforsyning", 2500.0, 0.01),
]


def _ghg(small: bool) -> str:
    years = span(small, 16, 4)  # 2009–2024
    sectors = table(GHG, "s(sektor, base, trend)")
    return f"""
SELECT CAST(2009 + y AS BIGINT) AS aar, s.sektor,
  CAST(round(s.base * pow(1 + s.trend, y) * (0.95 + 0.1 * {u("y * 7 + s.base")})) AS BIGINT)
    AS utslipp_tonn_co2e
FROM range({years}) r(y) CROSS JOIN {sectors}
ORDER BY aar, sektor
"""


CONTENTS = [
    Contents(
        "luftkvalitet-halden",
        (
            Col("dateObserved", "datetime", "Tidspunkt (starten av timen)", role="time"),
            Col("stationId", "string", "Stasjons-ID"),
            Col("stationName", "string", "Målestasjon"),
            Col("latitude", "number", "Breddegrad", "grader", "latitude"),
            Col("longitude", "number", "Lengdegrad", "grader", "longitude"),
            Col("no2", "number", "Nitrogendioksid (NO₂)", "µg/m³"),
            Col("pm10", "number", "Svevestøv PM10", "µg/m³"),
            Col("pm25", "number", "Svevestøv PM2,5", "µg/m³"),
        ),
        _air,
    ),
    Contents(
        "vannkvalitet-iddefjorden",
        (
            Col("dato", "date", "Dato", role="time"),
            Col("malepunkt", "string", "Målepunkt"),
            Col("latitude", "number", "Breddegrad", "grader", "latitude"),
            Col("longitude", "number", "Lengdegrad", "grader", "longitude"),
            Col("temperatur_c", "number", "Vanntemperatur", "°C"),
            Col("saltholdighet_psu", "number", "Saltholdighet", "PSU"),
            Col("oksygen_mg_l", "number", "Oppløst oksygen", "mg/l"),
            Col("e_coli_per_100ml", "integer", "E. coli", "per 100 ml"),
            Col("siktdyp_m", "number", "Siktdyp", "m"),
        ),
        _water,
    ),
    Contents(
        "stoymaling-sentrum",
        (
            Col("tidspunkt", "datetime", "Tidspunkt (starten av timen)", role="time"),
            Col("malepunkt", "string", "Målepunkt"),
            Col("laeq_db", "number", "Gjennomsnittlig støynivå (LAeq)", "dB"),
            Col("lmax_db", "number", "Høyeste støynivå (Lmax)", "dB"),
        ),
        _noise,
    ),
    Contents(
        "vaerdata-halden",
        (
            Col("tidspunkt", "datetime", "Tidspunkt (starten av timen)", role="time"),
            Col("stasjon", "string", "Værstasjon"),
            Col("temperatur_c", "number", "Lufttemperatur", "°C"),
            Col("nedbor_mm", "number", "Nedbør", "mm"),
            Col("vindhastighet_ms", "number", "Vindhastighet", "m/s"),
            Col("vindretning_grader", "integer", "Vindretning", "grader"),
            Col("luftfuktighet_pct", "integer", "Relativ luftfuktighet", "%"),
        ),
        _weather,
    ),
    Contents(
        "avfall-husholdninger",
        (
            Col("maaned", "date", "Måned", role="time"),
            Col("fraksjon", "string", "Avfallstype"),
            Col("tonn", "number", "Innsamlet mengde", "tonn"),
        ),
        _waste,
    ),
    Contents(
        "klimagassregnskap",
        (
            Col("aar", "integer", "År"),
            Col("sektor", "string", "Sektor"),
            Col("utslipp_tonn_co2e", "integer", "Utslipp", "tonn CO₂-ekvivalenter"),
        ),
        _ghg,
    ),
]
