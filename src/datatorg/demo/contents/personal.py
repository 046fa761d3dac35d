"""Personal data: smart-meter readings, home-care decisions, citizen dialogue.

Every row carries the resident's pseudonymous key ``innbygger_id`` (role ``subject_key``):
``I-000001`` … ``I-000400``, one key per resident, the same in every dataset (the seam with
privacy, written in SEAMS.md). The demo citizen (Ola Nordmann) is ``I-000042`` and has rows
in all three datasets, also in the small world.

No identity is in clear in the lake (issue 13): a household's meter point id (GSRN
``707057500…``) is not a column; privacy keeps it encrypted in its subject registry as an
identity of the resident (``demo/privacy.py``), and the rows carry only the key.
"""

from __future__ import annotations

from datatorg.demo.contents.base import Col, Contents, pick, span, u

CITIZEN_KEY = "I-000042"
SUBJECTS = 400
POSTCODES = ["1769", "1771", "1772", "1776", "1777", "1778", "1779", "1781", "1782", "1783"]
AREAS = ["Sentrum", "Brødløs", "Tistedal", "Idd", "Berg", "Rokke", "Os", "Risum"]


def key(expr: str) -> str:
    """The subject key ``I-nnnnnn`` of the integer ``expr`` (1 … 400)."""
    return f"'I-' || lpad(CAST({expr} AS VARCHAR), 6, '0')"


def _subject(i: str, salt: int) -> str:
    """A resident for row ``i``: the demo citizen for the first rows, then spread by hash."""
    return f"CAST(CASE WHEN {i} < 3 THEN 42 ELSE 1 + hash({i} * {salt}) % {SUBJECTS} END AS BIGINT)"


def _meters(small: bool) -> str:
    hours = span(small, 2160, 48)  # 90 days from 1 January 2025, hourly
    # household m (0…199) belongs to resident 2m + 2: I-000002 … I-000400 (I-000042 is m = 20)
    return f"""
SELECT {key("2 * m + 2")} AS innbygger_id,
  {pick(POSTCODES, "m")} AS postnummer,
  TIMESTAMP '2025-01-01' + to_hours(h) AS tidspunkt,
  round((0.3 + 0.4 * (m % 5) / 4) * (1.4 + 0.8 * sin((h % 24 - 6) / 24.0 * 2 * pi()))
        * (0.7 + 0.6 * {u("h * 101 + m")}), 3) AS kwh
FROM range({hours}) r(h) CROSS JOIN range(200) q(m)
ORDER BY tidspunkt, innbygger_id
"""


SERVICES = [
    "Hjemmesykepleie", "Praktisk bistand i hjemmet", "Trygghetsalarm", "Matombringing",
    "Brukerstyrt personlig assistanse", "Dagaktivitetstilbud", "Avlastning",
]  # fmt: skip


def _home_care(small: bool) -> str:
    n = span(small, 3200, 40)  # decisions 2018–2025
    person = _subject("i", 7)
    return f"""
SELECT 'V-' || CAST(2018 + i * 8 // {n} AS VARCHAR) || '-' || lpad(CAST(i + 1 AS VARCHAR), 5, '0')
    AS vedtak_id,
  {key(person)} AS innbygger_id,
  DATE '2018-01-03' + CAST(i * (2900.0 / {n}) AS INTEGER) AS vedtaksdato,
  {pick(SERVICES, f"i * 3 + {person}")} AS tjeneste,
  round(CASE WHEN {pick(SERVICES, f"i * 3 + {person}")} IN ('Trygghetsalarm', 'Matombringing')
        THEN 0 ELSE 1 + 14 * pow({u("i * 11")}, 2) END, 1) AS timer_per_uke,
  {pick(AREAS, person)} AS sone,
  {pick(["67–79 år", "80–89 år", "90 år og eldre", "18–66 år"], f"{person} * 3 + 1")}
    AS aldersgruppe,
  CASE WHEN {u("i * 13")} < 0.07 THEN 'Avslått' ELSE 'Innvilget' END AS utfall
FROM range({n}) r(i)
ORDER BY vedtaksdato, vedtak_id
"""


TOPICS = [
    ("Vei og trafikk", "Ønsker fartsdumper og bedre belysning på skoleveien."),
    ("Skole og barnehage", "Foreslår flere plasser i skolefritidsordningen."),
    ("Helse og omsorg", "Spør om tilbud om dagaktivitet for eldre i bydelen."),
    ("Kultur og fritid", "Ønsker lengre åpningstid i biblioteket i helgene."),
    ("Miljø og klima", "Foreslår flere returpunkter for plast og glass."),
    ("Byutvikling", "Innspill til planene for Tollbodbrygga: mer grønt og sitteplasser."),
    ("Vann og avløp", "Melder om lukt fra kum ved gangveien."),
    ("Digitale tjenester", "Vil kunne se egne strømdata og samtykker i Datatorg."),
]


def _dialogue(small: bool) -> str:
    n = span(small, 1600, 30)  # input 2022–2025
    person = _subject("i", 13)
    topics = ", ".join("'" + t + "'" for t, _ in TOPICS)
    texts = ", ".join("'" + x.replace("'", "''") + "'" for _, x in TOPICS)
    idx = f"CAST((i * 5 + {person}) % {len(TOPICS)} AS BIGINT) + 1"
    return f"""
SELECT 'INN-' || lpad(CAST(i + 1 AS VARCHAR), 5, '0') AS innspill_id,
  {key(person)} AS innbygger_id,
  TIMESTAMP '2022-01-03 08:00:00' + to_minutes(CAST(i * (2100000.0 / {n}) AS BIGINT))
    AS mottatt,
  {pick(["Digitalt skjema", "E-post", "Innbyggermøte", "Telefon", "Digitalt skjema"], "i * 7")}
    AS kanal,
  [{topics}][{idx}] AS tema,
  {pick(AREAS, person + " * 5")} AS bydel,
  [{texts}][{idx}] AS innspill,
  CASE WHEN i > {n} - 25 THEN 'Mottatt' WHEN i > {n} - 80 THEN 'Under behandling'
       ELSE 'Besvart' END AS status
FROM range({n}) r(i)
ORDER BY mottatt, innspill_id
"""


CONTENTS = [
    Contents(
        "smartmaler-husholdninger",
        (
            Col("innbygger_id", "string", "Innbygger (pseudonym)", role="subject_key"),
            Col("postnummer", "string", "Postnummer", role="quasi_identifier"),
            Col("tidspunkt", "datetime", "Tidspunkt (starten av timen)", role="time"),
            Col("kwh", "number", "Strømforbruk", "kWh per time"),
        ),
        _meters,
    ),
    Contents(
        "hjemmetjeneste-vedtak",
        (
            Col("vedtak_id", "string", "Vedtak-ID"),
            Col("innbygger_id", "string", "Innbygger (pseudonym)", role="subject_key"),
            Col("vedtaksdato", "date", "Vedtaksdato", role="time"),
            Col("tjeneste", "string", "Tjeneste"),
            Col("timer_per_uke", "number", "Vedtatt omfang", "timer per uke"),
            Col("sone", "string", "Hjemmetjenestesone"),
            Col("aldersgruppe", "string", "Aldersgruppe", role="quasi_identifier"),
            Col("utfall", "string", "Utfall"),
        ),
        _home_care,
    ),
    Contents(
        "innbyggerdialog",
        (
            Col("innspill_id", "string", "Innspill-ID"),
            Col("innbygger_id", "string", "Innbygger (pseudonym)", role="subject_key"),
            Col("mottatt", "datetime", "Mottatt", role="time"),
            Col("kanal", "string", "Kanal"),
            Col("tema", "string", "Tema"),
            Col("bydel", "string", "Bydel", role="quasi_identifier"),
            Col("innspill", "string", "Innspill"),
            Col("status", "string", "Status"),
        ),
        _dialogue,
    ),
]
