"""Population: residents per basic statistical unit, projections, moving in and out."""

from __future__ import annotations

from datatorg.demo.contents.base import Col, Contents, span, table, u

# basic statistical units (grunnkretser) of Halden (kommunenummer 3101), with residents
UNITS = [
    ("31010101", "Sentrum", 2100), ("31010102", "Tollbodbrygga", 1400),
    ("31010103", "Fredriksten", 900), ("31010201", "Os", 2300), ("31010202", "Gimle", 1900),
    ("31010203", "Kommandantveien", 1200), ("31010301", "Brødløs", 2600),
    ("31010302", "Remmen", 1700), ("31010303", "Bergheim", 1500), ("31010401", "Tistedal", 2800),
    ("31010402", "Låby", 1300), ("31010403", "Rødsberg", 1100), ("31010501", "Idd", 2400),
    ("31010502", "Isebakke", 1600), ("31010503", "Svinesund", 450), ("31010601", "Berg", 1800),
    ("31010602", "Rokke", 1400), ("31010603", "Torpum", 700), ("31010701", "Prestebakke", 500),
    ("31010702", "Enningdalen", 650), ("31010703", "Kornsjø", 300), ("31010801", "Risum", 1500),
    ("31010802", "Hjortsberg", 1750), ("31010803", "Sauøy", 380),
]  # fmt: skip

AGES = [("0–5 år", 0.058), ("6–15 år", 0.112), ("16–19 år", 0.048), ("20–44 år", 0.295),
        ("45–66 år", 0.28), ("67–79 år", 0.14), ("80 år og eldre", 0.067)]  # fmt: skip


def _population(small: bool) -> str:
    years = span(small, 8, 1)  # 2018–2025
    units = table(UNITS, "g(kode, navn, folk)")
    ages = table(AGES, "a(aldersgruppe, share)")
    return f"""
SELECT CAST(2018 + y AS BIGINT) AS aar, g.kode AS grunnkrets, g.navn AS grunnkretsnavn,
  a.aldersgruppe,
  CAST(round(g.folk * a.share * (1 + 0.005 * y) * (0.85 + 0.3 * {u("y * 7 + g.folk + a.share")}))
       AS BIGINT) AS personer
FROM range({years}) r(y) CROSS JOIN {units} CROSS JOIN {ages}
ORDER BY aar, grunnkrets, aldersgruppe
"""


ALTERNATIVES = [("Hovedalternativet (MMMM)", 0.0035), ("Lav nasjonal vekst (LLML)", -0.001),
                ("Høy nasjonal vekst (HHMH)", 0.008)]  # fmt: skip


def _projection(small: bool) -> str:
    years = span(small, 26, 3)  # 2025–2050
    alts = table(ALTERNATIVES, "p(alternativ, growth)")
    ages = table(AGES, "a(aldersgruppe, share)")
    return f"""
SELECT CAST(2025 + y AS BIGINT) AS aar, p.alternativ, a.aldersgruppe,
  CAST(round(31900 * a.share * pow(1 + p.growth, y)
       * (CASE WHEN a.aldersgruppe IN ('67–79 år', '80 år og eldre') THEN 1 + 0.018 * y
               WHEN a.aldersgruppe IN ('0–5 år', '6–15 år') THEN 1 - 0.006 * y ELSE 1 END))
       AS BIGINT) AS personer
FROM range({years}) r(y) CROSS JOIN {alts} CROSS JOIN {ages}
ORDER BY aar, alternativ, aldersgruppe
"""


PLACES = [("Sarpsborg", 310), ("Fredrikstad", 280), ("Oslo", 260), ("Moss", 70),
          ("Indre Østfold", 60), ("Resten av Norge", 420), ("Sverige", 140),
          ("Resten av verden", 230)]  # fmt: skip


def _moving(small: bool) -> str:
    years = span(small, 8, 2)
    places = table(PLACES, "p(sted, base)")
    return f"""
SELECT CAST(2018 + y AS BIGINT) AS aar, d.retning, p.sted AS fra_eller_til,
  CAST(round(p.base * d.factor * (0.85 + 0.3 * {u("y * 7 + p.base + d.factor * 10")}))
       AS BIGINT) AS personer
FROM range({years}) r(y) CROSS JOIN {places}
CROSS JOIN (VALUES ('Innflytting', 1.05), ('Utflytting', 0.95)) d(retning, factor)
ORDER BY aar, retning, fra_eller_til
"""


CONTENTS = [
    Contents(
        "befolkning-grunnkrets",
        (
            Col("aar", "integer", "År (1. januar)"),
            Col("grunnkrets", "string", "Grunnkretsnummer"),
            Col("grunnkretsnavn", "string", "Grunnkrets"),
            Col("aldersgruppe", "string", "Aldersgruppe"),
            Col("personer", "integer", "Bosatte", "antall"),
        ),
        _population,
    ),
    Contents(
        "befolkningsframskriving",
        (
            Col("aar", "integer", "År"),
            Col("alternativ", "string", "Framskrivingsalternativ"),
            Col("aldersgruppe", "string", "Aldersgruppe"),
            Col("personer", "integer", "Framskrevne bosatte", "antall"),
        ),
        _projection,
    ),
    Contents(
        "flytting-inn-ut",
        (
            Col("aar", "integer", "År"),
            Col("retning", "string", "Innflytting eller utflytting"),
            Col("fra_eller_til", "string", "Fra eller til"),
            Col("personer", "integer", "Personer", "antall"),
        ),
        _moving,
    ),
]
