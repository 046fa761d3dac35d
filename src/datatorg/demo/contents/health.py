"""Health and safety: health centres, the emergency room, public health, the fire service."""

from __future__ import annotations

from datatorg.demo.contents.base import Col, Contents, pick, span, table, u

CONSULTATIONS = ["Hjemmebesøk etter fødsel", "6-ukerskontroll", "Vaksinasjon",
                 "Skolehelsetjeneste", "Helsestasjon for ungdom"]  # fmt: skip


def _health_centre(small: bool) -> str:
    months = span(small, 96, 12)
    return f"""
SELECT CAST(DATE '2018-01-01' + to_months(m) AS DATE) AS maaned,
  {pick(["Sentrum", "Tistedal", "Idd"], "h")} AS helsestasjon,
  {pick(CONSULTATIONS, "k")} AS konsultasjon,
  CAST(round((60 - 18 * h) * (1 + 0.6 * (k = 2)::INTEGER) * (1 - 0.4 * ((m % 12) = 6)::INTEGER)
       * (0.85 + 0.3 * {u("m * 7 + h * 5 + k")})) AS BIGINT) AS besok
FROM range({months}) r(m) CROSS JOIN range(3) hs(h) CROSS JOIN range(5) ks(k)
ORDER BY maaned, helsestasjon, konsultasjon
"""


def _emergency(small: bool) -> str:
    days = span(small, 1461, 14)  # 2022–2025, daily
    return f"""
SELECT DATE '2022-01-01' + CAST(d AS INTEGER) AS dato,
  {pick(["Telefon", "Oppmøte", "Sykebesøk"], "c")} AS kanal,
  {pick(["Akutt (rød)", "Haster (gul)", "Vanlig (grønn)"], "g")} AS hastegrad,
  CAST(round((CASE c WHEN 0 THEN 60 WHEN 1 THEN 22 ELSE 3 END)
       * (CASE g WHEN 0 THEN 0.06 WHEN 1 THEN 0.3 ELSE 0.64 END)
       * (CASE WHEN d % 7 IN (0, 1) THEN 1.4 ELSE 1 END)  -- 1 Jan 2022: Saturday
       * (1 + 0.2 * cos(d / 365.25 * 2 * pi())) * (0.7 + 0.6 * {u("d * 13 + c * 3 + g")}))
       AS BIGINT) AS henvendelser
FROM range({days}) r(d) CROSS JOIN range(3) cs(c) CROSS JOIN range(3) gs(g)
ORDER BY dato, kanal, hastegrad
"""


INDICATORS = [
    ("Forventet levealder, kvinner", "år", 83.4, 84.3),
    ("Forventet levealder, menn", "år", 79.2, 81.0),
    ("Personer med høyere utdanning", "prosent", 28.5, 36.1),
    ("Barn i husholdninger med lavinntekt", "prosent", 14.8, 11.3),
    ("Fullført videregående skole", "prosent", 75.2, 80.4),
    ("Trivsel på skolen, 10. trinn", "prosent", 84.0, 85.5),
    ("Brukere av legemidler mot psykiske lidelser", "per 1000", 178.0, 162.0),
    ("Røykere, kvinner", "prosent", 9.5, 7.2),
]


def _public_health(small: bool) -> str:
    years = span(small, 8, 2)
    rows = table(INDICATORS, "i(indikator, enhet, halden, norge)")
    return f"""
SELECT CAST(2018 + y AS BIGINT) AS aar, i.indikator, i.enhet,
  round(i.halden * (1 + 0.004 * (y - 4)) * (0.98 + 0.04 * {u("y * 7 + i.halden")}), 1)
    AS halden,
  round(i.norge * (1 + 0.004 * (y - 4)), 1) AS hele_landet
FROM range({years}) r(y) CROSS JOIN {rows}
ORDER BY aar, indikator
"""


INCIDENTS = [
    ("Brann i bygning", 0.06, 9.0),
    ("Gress- og skogbrann", 0.07, 14.0),
    ("Trafikkulykke", 0.12, 11.0),
    ("Automatisk brannalarm", 0.38, 8.0),
    ("Helseassistanse", 0.2, 10.0),
    ("Redning og bistand på sjøen", 0.05, 18.0),
    ("Annen assistanse", 0.12, 12.0),
]


def _fire(small: bool) -> str:
    n = span(small, 3400, 60)  # about 850 call-outs a year, 2022–2025
    kinds = table(
        [(i, k, share, minutes) for i, (k, share, minutes) in enumerate(INCIDENTS)],
        "k(i, hendelse, share, minutter)",
    )
    zones = ["Sentrum", "Brødløs", "Tistedal", "Idd", "Berg", "Rokke", "Prestebakke", "Enningdalen"]
    return f"""
WITH calls AS (
  SELECT n, TIMESTAMP '2022-01-01' + to_minutes(CAST(n * 618 + 600 * {u("n * 7")} AS BIGINT))
    AS tidspunkt, {u("n * 11")} AS pick_kind
  FROM range({n}) r(n)
), cum AS (
  SELECT i, hendelse, minutter,
    sum(share) OVER (ORDER BY i) - share AS lo, sum(share) OVER (ORDER BY i) AS hi
  FROM {kinds}
)
SELECT date_trunc('minute', c.tidspunkt) AS tidspunkt, k.hendelse AS hendelsestype,
  {pick(zones, "c.n * 5 + CAST(10 * " + u("c.n * 13") + " AS BIGINT)")} AS sone,
  round(k.minutter * (0.6 + 0.9 * {u("c.n * 17")})
        * (CASE WHEN c.n % 8 IN (6, 7) THEN 1.6 ELSE 1 END), 1) AS responstid_min,
  CAST(4 + round(8 * {u("c.n * 19")}) AS BIGINT) AS mannskap
FROM calls c JOIN cum k ON c.pick_kind >= k.lo AND c.pick_kind < k.hi
ORDER BY tidspunkt
"""


CONTENTS = [
    Contents(
        "helsestasjon-besok",
        (
            Col("maaned", "date", "Måned", role="time"),
            Col("helsestasjon", "string", "Helsestasjon"),
            Col("konsultasjon", "string", "Konsultasjon"),
            Col("besok", "integer", "Besøk", "antall"),
        ),
        _health_centre,
    ),
    Contents(
        "legevakt-henvendelser",
        (
            Col("dato", "date", "Dato", role="time"),
            Col("kanal", "string", "Kanal"),
            Col("hastegrad", "string", "Hastegrad"),
            Col("henvendelser", "integer", "Henvendelser", "antall"),
        ),
        _emergency,
    ),
    Contents(
        "folkehelseprofil",
        (
            Col("aar", "integer", "År"),
            Col("indikator", "string", "Indikator"),
            Col("enhet", "string", "Enhet"),
            Col("halden", "number", "Halden"),
            Col("hele_landet", "number", "Hele landet"),
        ),
        _public_health,
    ),
    Contents(
        "brannvesen-utrykninger",
        (
            Col("tidspunkt", "datetime", "Alarmtidspunkt", role="time"),
            Col("hendelsestype", "string", "Hendelse"),
            Col("sone", "string", "Sone"),
            Col("responstid_min", "number", "Responstid", "minutter"),
            Col("mannskap", "integer", "Mannskap", "antall"),
        ),
        _fire,
    ),
]
