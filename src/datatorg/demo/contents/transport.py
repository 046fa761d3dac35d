"""Transport: traffic counts, parking, city bikes, buses, chargers, the canal locks."""

from __future__ import annotations

from datatorg.demo.contents.base import Col, Contents, pick, span, table, u

TRAFFIC_POINTS = [
    "Svinesundsbrua", "Tistedalsgata", "Os allé", "Walkers gate", "Brødløsveien", "E6 Idd",
    "Storgata", "Porsnesbrua",
]  # fmt: skip


def _traffic(small: bool) -> str:
    hours = span(small, 8760, 48)  # 2025, hourly
    return f"""
SELECT TIMESTAMP '2025-01-01' + to_hours(h) AS time, 'P' || p AS point_id,
  {pick(TRAFFIC_POINTS, "p")} AS point_name,
  59.11 + p * 0.01 AS latitude, 11.37 + p * 0.015 AS longitude,
  CAST(round((40 + 200 * (p % 3 + 1) * greatest(0, sin((h % 24 - 5) / 24.0 * pi())))
       * (0.8 + 0.4 * {u("h * 13 + p")})) AS BIGINT) AS vehicles,
  round(0.05 + 0.15 * {u("h * 7 + p")}, 3) AS heavy_share
FROM range({hours}) r(h) CROSS JOIN range(8) q(p)
ORDER BY time, point_id
"""


PARKING = [
    ("Tollbodbrygga", 180),
    ("Busterminalen", 120),
    ("Os allé parkeringshus", 340),
    ("Fredriksten festning", 90),
    ("Sykehuset Østfold Halden", 260),
]


def _parking(small: bool) -> str:
    hours = span(small, 2160, 48)  # 90 days from 1 Sep 2025, hourly
    sites = table(PARKING, "s(anlegg, plasser)")
    return f"""
SELECT TIMESTAMP '2025-09-01' + to_hours(h) AS tidspunkt, s.anlegg,
  CAST(s.plasser AS BIGINT) AS plasser,
  CAST(greatest(0, s.plasser - round(s.plasser * least(0.98,
       0.15 + 0.75 * greatest(0, sin((h % 24 - 6) / 24.0 * 2 * pi()))
       * (CASE WHEN (h // 24) % 7 IN (5, 6) THEN 0.7 ELSE 1 END)
       + 0.1 * {u("h * 11 + s.plasser")}))) AS BIGINT) AS ledige
FROM range({hours}) r(h) CROSS JOIN {sites}
ORDER BY tidspunkt, anlegg
"""


BIKES = [
    "Torget", "Busterminalen", "Høgskolen i Østfold", "Tollbodbrygga", "Os allé", "Brødløs",
    "Tistedal", "Sykehuset",
]  # fmt: skip


def _bikes(small: bool) -> str:
    days = span(small, 730, 14)  # 2024–2025, daily
    return f"""
SELECT DATE '2024-01-01' + CAST(d AS INTEGER) AS dato, {pick(BIKES, "s")} AS stasjon,
  CAST(round(greatest(0, (4 + 26 * greatest(0, sin((d % 365 - 80) / 365.0 * 2 * pi())))
       * (1.4 - 0.1 * s) * (0.7 + 0.6 * {u("d * 23 + s")}))) AS BIGINT) AS utleie,
  CAST(round(greatest(0, (4 + 26 * greatest(0, sin((d % 365 - 80) / 365.0 * 2 * pi())))
       * (1.4 - 0.1 * s) * (0.7 + 0.6 * {u("d * 29 + s")}))) AS BIGINT) AS innlevering,
  round(11 + 9 * {u("d * 31 + s")}, 1) AS snitt_minutter
FROM range({days}) r(d) CROSS JOIN range(8) q(s)
ORDER BY dato, stasjon
"""


LINES = [
    ("1", "Brødløs – sentrum – Tistedal", 21000.0),
    ("2", "Busterminalen – Sykehuset – Bergheim", 14000.0),
    ("3", "Sentrum – Idd – Svinesund", 9000.0),
    ("4", "Sentrum – Rokke – Berg", 6500.0),
    ("101", "Halden – Sarpsborg – Fredrikstad", 38000.0),
    ("Tog", "Østfoldbanen, Halden stasjon", 52000.0),
]


def _buses(small: bool) -> str:
    months = span(small, 96, 12)  # 2018–2025, monthly
    lines = table(LINES, "l(linje, strekning, base)")
    return f"""
SELECT CAST(DATE '2018-01-01' + to_months(m) AS DATE) AS maaned, l.linje, l.strekning,
  CAST(round(l.base * (CASE WHEN m BETWEEN 26 AND 40 THEN 0.55 ELSE 1 END)
       * (1 - 0.35 * ((m % 12) = 6)::INTEGER) * (1 + 0.012 * (m / 12.0))
       * (0.93 + 0.14 * {u("m * 17 + l.base")})) AS BIGINT) AS pastigende
FROM range({months}) r(m) CROSS JOIN {lines}
ORDER BY maaned, linje
"""


CHARGERS = [
    ("L01", "Halden rådhus", "Storgata 7", 59.1229, 11.3875, 6, 22, "Halden kommune", "2019-05-02"),
    ("L02", "Tollbodbrygga", "Tollbodbrygga 1", 59.1212, 11.3842, 8, 50, "Fortum", "2018-11-15"),
    ("L03", "Os allé", "Os allé 5", 59.1262, 11.3901, 10, 22, "Mer", "2020-03-10"),
    (
        "L04",
        "Halden storsenter",
        "Tordenskioldsgate 20",
        59.1238,
        11.3936,
        12,
        150,
        "Tesla",
        "2021-06-01",
    ),  # noqa: E501
    ("L05", "Svinesund", "Svinesundsparken", 59.0921, 11.2654, 16, 350, "Ionity", "2022-04-20"),
    ("L06", "Brødløs", "Brødløsveien 50", 59.1331, 11.3388, 4, 22, "Halden kommune", "2021-09-01"),  # noqa: E501
    ("L07", "Tistedal", "Tistedalsgata 78", 59.1287, 11.4532, 4, 50, "Eviny", "2022-10-12"),
    (
        "L08",
        "Sykehuset Østfold Halden",
        "Sykehusveien 2",
        59.1371,
        11.3699,
        8,
        22,
        "Mer",
        "2020-01-20",
    ),  # noqa: E501
    ("L09", "Idd", "Iddeveien 128", 59.0987, 11.4203, 4, 50, "Eviny", "2023-03-03"),
    (
        "L10",
        "Fredriksten festning",
        "Festningsveien",
        59.1183,
        11.3942,
        6,
        22,
        "Halden kommune",
        "2023-06-15",
    ),  # noqa: E501
    ("L11", "Rokke", "Rokkeveien 210", 59.1546, 11.3528, 2, 22, "Halden kommune", "2024-02-01"),  # noqa: E501
    ("L12", "Høgskolen i Østfold", "B R A veien 4", 59.1298, 11.3528, 10, 22, "Mer", "2019-08-19"),  # noqa: E501
]


def _chargers(small: bool) -> str:
    rows = table(CHARGERS, "c(stasjon_id, navn, adresse, lat, lon, punkter, kw, operator, apnet)")
    limit = 4 if small else len(CHARGERS)
    return f"""
SELECT c.stasjon_id, c.navn, c.adresse, c.lat AS latitude, c.lon AS longitude,
  CAST(c.punkter AS BIGINT) AS ladepunkter, CAST(c.kw AS BIGINT) AS maks_effekt_kw,
  c.operator AS operator, CAST(c.apnet AS DATE) AS apnet
FROM {rows}
ORDER BY stasjon_id
LIMIT {limit}
"""


LOCKS = [("Tistedal", 1.0), ("Brekke", 0.8), ("Strømsfoss", 0.6), ("Ørje", 0.7)]


def _locks(small: bool) -> str:
    years = span(small, 8, 1)  # seasons 2018–2025, 15 May – 15 September
    locks = table(LOCKS, "s(sluse, weight)")
    return f"""
SELECT CAST(DATE '2018-05-15' + to_years(CAST(y AS INTEGER)) AS DATE) + CAST(d AS INTEGER) AS dato,
  s.sluse,
  CAST(round(s.weight * (3 + 14 * sin(d / 123.0 * pi()))
       * (CASE WHEN (d + y) % 7 IN (5, 6) THEN 1.6 ELSE 1 END)
       * (0.7 + 0.6 * {u("y * 1000 + d * 7 + s.weight * 10")})) AS BIGINT) AS slusinger,
  CAST(round(s.weight * (5 + 25 * sin(d / 123.0 * pi()))
       * (0.7 + 0.6 * {u("y * 1000 + d * 11 + s.weight * 10")})) AS BIGINT) AS baater
FROM range({years}) ry(y) CROSS JOIN range(124) rd(d) CROSS JOIN {locks}
ORDER BY dato, sluse
"""


CONTENTS = [
    Contents(
        "trafikktellinger",
        (
            Col("time", "datetime", "Tidspunkt (starten av timen)", role="time"),
            Col("point_id", "string", "Tellepunkt-ID"),
            Col("point_name", "string", "Tellepunkt"),
            Col("latitude", "number", "Breddegrad", "grader", "latitude"),
            Col("longitude", "number", "Lengdegrad", "grader", "longitude"),
            Col("vehicles", "integer", "Kjøretøy", "antall per time"),
            Col("heavy_share", "number", "Andel tunge kjøretøy", "andel (0–1)"),
        ),
        _traffic,
    ),
    Contents(
        "parkering-belegg",
        (
            Col("tidspunkt", "datetime", "Tidspunkt", role="time"),
            Col("anlegg", "string", "Parkeringsanlegg"),
            Col("plasser", "integer", "Plasser", "antall"),
            Col("ledige", "integer", "Ledige plasser", "antall"),
        ),
        _parking,
    ),
    Contents(
        "bysykkel-turer",
        (
            Col("dato", "date", "Dato", role="time"),
            Col("stasjon", "string", "Bysykkelstativ"),
            Col("utleie", "integer", "Turer startet", "antall"),
            Col("innlevering", "integer", "Turer avsluttet", "antall"),
            Col("snitt_minutter", "number", "Gjennomsnittlig turlengde", "minutter"),
        ),
        _bikes,
    ),
    Contents(
        "kollektiv-passasjerer",
        (
            Col("maaned", "date", "Måned", role="time"),
            Col("linje", "string", "Linje"),
            Col("strekning", "string", "Strekning"),
            Col("pastigende", "integer", "Påstigende passasjerer", "antall"),
        ),
        _buses,
    ),
    Contents(
        "ladestasjoner",
        (
            Col("stasjon_id", "string", "Stasjons-ID"),
            Col("navn", "string", "Navn"),
            Col("adresse", "string", "Adresse"),
            Col("latitude", "number", "Breddegrad", "grader", "latitude"),
            Col("longitude", "number", "Lengdegrad", "grader", "longitude"),
            Col("ladepunkter", "integer", "Ladepunkter", "antall"),
            Col("maks_effekt_kw", "integer", "Største ladeeffekt", "kW"),
            Col("operator", "string", "Operatør"),
            Col("apnet", "date", "Åpnet"),
        ),
        _chargers,
    ),
    Contents(
        "kanalen-slusing",
        (
            Col("dato", "date", "Dato", role="time"),
            Col("sluse", "string", "Sluse"),
            Col("slusinger", "integer", "Slusinger", "antall"),
            Col("baater", "integer", "Båter", "antall"),
        ),
        _locks,
    ),
]
