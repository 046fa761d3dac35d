"""Government: political decisions, the public mail journal, building cases, zoning plans,
municipal properties."""

from __future__ import annotations

from datatorg.demo.contents.base import Col, Contents, pick, span, table, u

BODIES = ["Kommunestyret", "Formannskapet", "Hovedutvalg for oppvekst og kultur",
          "Hovedutvalg for helse og omsorg", "Hovedutvalg for samfunnsutvikling",
          "Kontrollutvalget"]  # fmt: skip
SUBJECTS = [
    "Budsjett og økonomiplan", "Ny skolestruktur i nord", "Reguleringsplan for Tollbodbrygga",
    "Trafikksikkerhetsplan", "Salg av kommunal tomt på Brødløs", "Rullering av klimaplanen",
    "Oppgradering av Os allé", "Tilskudd til frivillige lag", "Kommunal planstrategi",
    "Utvidelse av Risum sykehjem", "Gebyrer for vann og avløp", "Ladestrategi for kommunale biler",
    "Datadeling gjennom Datatorg", "Handlingsplan mot utenforskap", "Kulturplan for Halden",
    "Parkering i sentrum",
]  # fmt: skip
OUTCOMES = ["Vedtatt som innstilt", "Vedtatt som innstilt", "Vedtatt med endringer",
            "Utsatt", "Vedtatt som innstilt", "Ikke vedtatt"]  # fmt: skip


def _decisions(small: bool) -> str:
    n = span(small, 640, 20)  # about 80 cases a year, 2018–2025
    return f"""
SELECT CAST(2018 + i // 80 AS VARCHAR)[3:] || '/' || lpad(CAST(100 + i * 13 % 900 AS VARCHAR),
  4, '0') AS saksnummer,
  DATE '2018-01-15' + CAST((i // 80) * 365 + (i % 80) * 4.4 AS INTEGER) AS motedato,
  {pick(BODIES, "i * 7 + i // 3")} AS utvalg,
  {pick(SUBJECTS, "i * 5 + i // 16")} AS tittel,
  {pick(OUTCOMES, "i * 3 + i // 5")} AS vedtak,
  CAST(CASE WHEN {pick(BODIES, "i * 7 + i // 3")} = 'Kommunestyret' THEN 25 + round(14 * {u("i")})
       ELSE 7 + round(4 * {u("i")}) END AS BIGINT) AS stemmer_for,
  CAST(CASE WHEN {pick(BODIES, "i * 7 + i // 3")} = 'Kommunestyret' THEN round(14 * {u("i * 3")})
       ELSE round(3 * {u("i * 3")}) END AS BIGINT) AS stemmer_mot
FROM range({n}) r(i)
ORDER BY motedato, saksnummer
"""


UNITS = ["Oppvekst", "Helse og omsorg", "Samfunnsutvikling", "Teknisk drift", "Økonomi",
         "Personal", "Kultur"]  # fmt: skip
TITLES = [
    "Søknad om tilskudd til arrangement", "Svar på henvendelse om veibelysning",
    "Tilbud på renholdstjenester", "Melding om vedtak i plansak", "Høringsinnspill til kulturplan",
    "Avtale om leie av lokaler", "Bestilling av skolemateriell", "Søknad om skjenkebevilling",
    "Klage på parkeringsgebyr", "Rapport om vannkvalitet", "Innkalling til møte",
    "Referat fra samarbeidsmøte", "Varsel om oppstart av reguleringsarbeid",
    "Forespørsel om innsyn", "Søknad om permisjon",
]  # fmt: skip


def _journal(small: bool) -> str:
    days = span(small, 730, 5)  # 2024–2025, about 18 entries a working day
    return f"""
SELECT CAST(2024 + d // 366 AS VARCHAR) || '/' || lpad(CAST(d * 18 + e + 1 AS VARCHAR), 6, '0')
    AS journalpost,
  DATE '2024-01-01' + CAST(d AS INTEGER) AS journaldato,
  {pick(["Inngående", "Utgående", "Inngående", "Notat"], "e * 3 + d")} AS retning,
  {pick(UNITS, "e * 5 + d * 3")} AS enhet,
  CASE WHEN {u("d * 31 + e")} < 0.12 THEN 'Skjermet (offentleglova § 13)'
       ELSE {pick(TITLES, "e * 7 + d * 11")} END AS tittel,
  {u("d * 31 + e")} < 0.12 AS skjermet
FROM range({days}) r(d) CROSS JOIN range(18) q(e)
WHERE d % 7 NOT IN (5, 6)
ORDER BY journaldato, journalpost
"""


KINDS = ["Enebolig", "Tilbygg", "Garasje", "Fritidsbolig", "Næringsbygg", "Riving",
         "Bruksendring", "Terrasse og levegg"]  # fmt: skip
ROADS = ["Brødløsveien", "Iddeveien", "Tistedalsgata", "Rokkeveien", "Svinesundveien",
         "Berg kirkevei", "Os allé", "Enningdalsveien", "Femsjøveien", "Sauøyveien"]  # fmt: skip


def _building_cases(small: bool) -> str:
    n = span(small, 2400, 30)  # about 300 cases a year, 2018–2025
    done = f"{u('i * 13')} < 0.93 OR i < {n} - 40"
    return f"""
SELECT CAST(2018 + i // 300 AS VARCHAR)[3:] || '/' || lpad(CAST(i % 300 + 1 AS VARCHAR), 4, '0')
    AS saksnummer,
  DATE '2018-01-02' + CAST(i * 1.217 AS INTEGER) AS mottatt,
  {pick(KINDS, "i * 3 + i // 7")} AS tiltakstype,
  {pick(ROADS, "i * 7 + i // 11")} AS adresse,
  CAST(1 + round(150 * {u("i * 17")}) AS BIGINT) AS gardsnummer,
  CAST(1 + round(300 * {u("i * 19")}) AS BIGINT) AS bruksnummer,
  CASE WHEN NOT ({done}) THEN 'Under behandling'
       WHEN {u("i * 23")} < 0.06 THEN 'Avslått' ELSE 'Godkjent' END AS status,
  CASE WHEN {done}
       THEN DATE '2018-01-02' + CAST(i * 1.217 + 5 + 70 * {u("i * 29")} AS INTEGER) END
    AS vedtaksdato,
  CASE WHEN {done} THEN CAST(5 + round(70 * {u("i * 29")}) AS BIGINT) END AS behandlingsdager
FROM range({n}) r(i)
ORDER BY mottatt, saksnummer
"""


PLACES = ["Tollbodbrygga", "Saugbrugs", "Remmen", "Brødløs", "Svinesund næringspark", "Tistedal",
          "Sentrum vest", "Os", "Kommandantveien", "Rokke", "Isebakke", "Fredriksten",
          "Idd sentrum", "Sauøy", "Låby", "Berg"]  # fmt: skip


def _plans(small: bool) -> str:
    n = span(small, 64, 8)
    return f"""
SELECT '3101' || CAST(2005 + i * 5 // 16 AS VARCHAR) || lpad(CAST(i % 9 + 1 AS VARCHAR), 3, '0')
    AS planid,
  {pick(["Detaljregulering for ", "Områderegulering for "], "i // 5")}
    || {pick(PLACES, "i * 7")} || CASE WHEN i >= 16 THEN ' ' || CAST(i // 16 + 1 AS VARCHAR)
    ELSE '' END AS plannavn,
  {pick(["Detaljregulering", "Områderegulering"], "i // 5")} AS plantype,
  CASE WHEN i >= {n} - 6 THEN 'Under arbeid' WHEN i % 23 = 4 THEN 'Opphevet'
       ELSE 'Vedtatt' END AS status,
  CASE WHEN i < {n} - 6 THEN DATE '2005-03-01' + CAST(i * 104 + 40 * {u("i")} AS INTEGER) END
    AS vedtatt,
  round(5 + 240 * pow({u("i * 3")}, 2), 1) AS areal_daa
FROM range({n}) r(i)
ORDER BY planid
"""


PROPERTIES = [
    ("E001", "Halden rådhus", "Administrasjon", "Storgata 7", 1917, 6200, "C", 59.1229, 11.3875),
    ("E002", "Hjortsberg skole", "Skole", "Hjortsbergveien 2", 1962, 5400, "C", 59.125, 11.39),
    ("E003", "Os skole", "Skole", "Os allé 35", 1938, 4800, "D", 59.118, 11.375),
    ("E004", "Strupe ungdomsskole", "Skole", "Strupeveien 5", 2011, 6900, "B", 59.128, 11.36),
    ("E005", "Risum sykehjem", "Sykehjem", "Risumveien 50", 1996, 8800, "C", 59.1421, 11.3718),
    ("E006", "Halden sykehjem", "Sykehjem", "Christian Fredriks vei 6", 2005, 9600, "B",
     59.124, 11.381),
    ("E007", "Brødløs barnehage", "Barnehage", "Brødløsveien 80", 2016, 900, "A", 59.1345,
     11.3371),
    ("E008", "Brygga kultursenter", "Kultur", "Torget 2", 2000, 5100, "C", 59.1216, 11.3857),
    ("E009", "Halden svømmehall", "Idrett", "Svømmehallgata 1", 1975, 5200, "E", 59.1241,
     11.3874),
    ("E010", "Remmenhallen", "Idrett", "B R A veien 6", 2009, 4400, "B", 59.1307, 11.3559),
    ("E011", "Kongeveien omsorgsboliger", "Bolig", "Kongeveien 12", 1988, 2300, "D", 59.122,
     11.391),
    ("E012", "Bergheim brannstasjon", "Beredskap", "Bergheimveien 1", 1979, 2100, "D", 59.1404,
     11.3843),
    ("E013", "Tistedal skole", "Skole", "Tistedalsgata 101", 1955, 4100, "D", 59.13, 11.47),
    ("E014", "Idd skole", "Skole", "Iddeveien 120", 1971, 3700, "D", 59.09, 11.41),
    ("E015", "Halden bibliotek", "Kultur", "Tollbodbrygga 3", 2018, 2300, "A", 59.1212, 11.3842),
]  # fmt: skip


def _properties(small: bool) -> str:
    rows = table(PROPERTIES, "e(id, navn, formal, adresse, aar, bta, merke, lat, lon)")
    return f"""
SELECT e.id AS eiendom_id, e.navn, e.formal AS formaal, e.adresse,
  CAST(e.aar AS BIGINT) AS byggeaar, CAST(e.bta AS BIGINT) AS bruttoareal_m2,
  e.merke AS energimerke, e.lat AS latitude, e.lon AS longitude
FROM {rows}
ORDER BY eiendom_id
LIMIT {5 if small else len(PROPERTIES)}
"""


CONTENTS = [
    Contents(
        "politiske-vedtak",
        (
            Col("saksnummer", "string", "Saksnummer"),
            Col("motedato", "date", "Møtedato", role="time"),
            Col("utvalg", "string", "Utvalg"),
            Col("tittel", "string", "Sak"),
            Col("vedtak", "string", "Vedtak"),
            Col("stemmer_for", "integer", "Stemmer for", "antall"),
            Col("stemmer_mot", "integer", "Stemmer mot", "antall"),
        ),
        _decisions,
    ),
    Contents(
        "postjournal",
        (
            Col("journalpost", "string", "Journalpost"),
            Col("journaldato", "date", "Journaldato", role="time"),
            Col("retning", "string", "Dokumenttype"),
            Col("enhet", "string", "Enhet"),
            Col("tittel", "string", "Tittel"),
            Col("skjermet", "boolean", "Skjermet"),
        ),
        _journal,
    ),
    Contents(
        "byggesaker",
        (
            Col("saksnummer", "string", "Saksnummer"),
            Col("mottatt", "date", "Mottatt", role="time"),
            Col("tiltakstype", "string", "Tiltak"),
            Col("adresse", "string", "Vei"),
            Col("gardsnummer", "integer", "Gårdsnummer"),
            Col("bruksnummer", "integer", "Bruksnummer"),
            Col("status", "string", "Status"),
            Col("vedtaksdato", "date", "Vedtaksdato"),
            Col("behandlingsdager", "integer", "Behandlingstid", "dager"),
        ),
        _building_cases,
    ),
    Contents(
        "reguleringsplaner",
        (
            Col("planid", "string", "Plan-ID"),
            Col("plannavn", "string", "Plannavn"),
            Col("plantype", "string", "Plantype"),
            Col("status", "string", "Status"),
            Col("vedtatt", "date", "Vedtatt"),
            Col("areal_daa", "number", "Areal", "dekar"),
        ),
        _plans,
    ),
    Contents(
        "kommunale-eiendommer",
        (
            Col("eiendom_id", "string", "Eiendom-ID"),
            Col("navn", "string", "Navn"),
            Col("formaal", "string", "Formål"),
            Col("adresse", "string", "Adresse"),
            Col("byggeaar", "integer", "Byggeår"),
            Col("bruttoareal_m2", "integer", "Bruttoareal", "m²"),
            Col("energimerke", "string", "Energimerke"),
            Col("latitude", "number", "Breddegrad", "grader", "latitude"),
            Col("longitude", "number", "Lengdegrad", "grader", "longitude"),
        ),
        _properties,
    ),
]
