"""Economy: accounts, budget, property tax, purchases, businesses."""

from __future__ import annotations

from datatorg.demo.contents.base import Col, Contents, span, table, u

FUNCTIONS = [
    (202, "Grunnskole", 420000),
    (201, "Barnehage", 210000),
    (253, "Pleie og omsorg i institusjon", 390000),
    (254, "Hjemmetjenester", 260000),
    (241, "Helse", 90000),
    (242, "Sosialtjeneste", 70000),
    (332, "Kommunale veier", 60000),
    (345, "Vann og avløp", 110000),
    (370, "Bibliotek", 12000),
    (385, "Kultur", 30000),
    (120, "Administrasjon", 95000),
    (265, "Kommunalt disponerte boliger", 40000),
]


def _accounts(small: bool) -> str:
    years = span(small, 10, 2)  # 2015–2024
    functions = table(FUNCTIONS, "f(code, name, base)")
    return f"""
SELECT CAST(2015 + y AS BIGINT) AS year, CAST(f.code AS BIGINT) AS kostra_function,
  f.name AS area, k.kind AS kind,
  CAST(round(f.base * (1 + 0.03 * y) * (0.95 + 0.1 * {u("(2015 + y) * 7 + f.code")})
       * (CASE k.kind WHEN 'utgift' THEN 1 ELSE 0.35 END)) AS BIGINT) * 1000 AS amount_nok
FROM range({years}) r(y) CROSS JOIN {functions}
CROSS JOIN (VALUES ('utgift'), ('inntekt')) k(kind)
ORDER BY year, kostra_function, kind
"""


SECTORS = [
    ("Oppvekst og utdanning", 980.0),
    ("Helse og omsorg", 1150.0),
    ("Samfunnsutvikling", 210.0),
    ("Teknisk drift", 260.0),
    ("Kultur og fritid", 85.0),
    ("Sentrale styringsorganer og fellesutgifter", 190.0),
    ("NAV kommune", 120.0),
    ("Vann, avløp og renovasjon", 230.0),
]


def _budget(small: bool) -> str:
    years = span(small, 9, 2)  # 2018–2026
    sectors = table(SECTORS, "s(sektor, base)")
    return f"""
SELECT CAST(2018 + y AS BIGINT) AS aar, s.sektor, k.kategori,
  CAST(round(s.base * 1000000 * pow(1.035, y) * k.share
       * (0.97 + 0.06 * {u("y * 13 + s.base")})) AS BIGINT) AS budsjett_nok
FROM range({years}) r(y) CROSS JOIN {sectors}
CROSS JOIN (VALUES ('Driftsutgifter', 1.0), ('Driftsinntekter', 0.28), ('Investeringer', 0.18))
  k(kategori, share)
ORDER BY aar, sektor, kategori
"""


PROPERTY = [
    ("Bolig", 12800, 2.4, 2200000),
    ("Fritidsbolig", 2100, 2.4, 1300000),
    ("Næringseiendom", 1150, 4.0, 9000000),
    ("Kraftanlegg, vindkraftverk og petroleumsanlegg", 14, 7.0, 180000000),
    ("Ubebygd tomt", 640, 2.4, 450000),
]


def _property_tax(small: bool) -> str:
    years = span(small, 8, 2)  # 2018–2025
    kinds = table(PROPERTY, "k(eiendomstype, antall, promille, verdi)")
    return f"""
SELECT CAST(2018 + y AS BIGINT) AS aar, k.eiendomstype,
  CAST(round(k.antall * (1 + 0.006 * y)) AS BIGINT) AS eiendommer,
  round(k.promille - (CASE WHEN k.eiendomstype = 'Bolig' AND y >= 5 THEN 0.4 ELSE 0 END), 1)
    AS promillesats,
  CAST(round(k.antall * (1 + 0.006 * y) * k.verdi * 0.7
       * (k.promille - (CASE WHEN k.eiendomstype = 'Bolig' AND y >= 5 THEN 0.4 ELSE 0 END))
       / 1000 * (0.98 + 0.04 * {u("y * 7 + k.antall")})) AS BIGINT) AS skatt_nok
FROM range({years}) r(y) CROSS JOIN {kinds}
ORDER BY aar, eiendomstype
"""


SUPPLIERS = [
    ("Halden Bygg og Anlegg AS", "Bygg og anlegg"),
    ("Østfold Elektro AS", "Bygg og anlegg"),
    ("Fjordveien Entreprenør AS", "Bygg og anlegg"),
    ("Grenseland IKT AS", "IKT"),
    ("Smart Kommune Systemer AS", "IKT"),
    ("Omsorgsutstyr Øst AS", "Helse- og omsorgsartikler"),
    ("Medisinsk Forbruk AS", "Helse- og omsorgsartikler"),
    ("Halden Storkjøkken AS", "Mat og drikke"),
    ("Grønt fra Idd AS", "Mat og drikke"),
    ("Rådgiverne i Øst AS", "Konsulenttjenester"),
    ("Tistedal Transport AS", "Transport"),
    ("Svinesund Renhold AS", "Renhold"),
    ("Kontorpartner Halden AS", "Kontorrekvisita"),
    ("Brann og Sikring Østfold AS", "Bygg og anlegg"),
]


def _purchases(small: bool) -> str:
    quarters = span(small, 32, 4)  # 2018–2025
    rows = table(SUPPLIERS, "s(leverandor, kategori)")
    return f"""
SELECT CAST(2018 + q // 4 AS BIGINT) AS aar, CAST(q % 4 + 1 AS BIGINT) AS kvartal,
  s.leverandor, s.kategori,
  CAST(round(250000 + 4750000 * pow({u("q * 41 + length(s.leverandor)")}, 2)) AS BIGINT)
    AS belop_nok,
  CAST(1 + round(40 * {u("q * 43 + length(s.leverandor)")}) AS BIGINT) AS fakturaer
FROM range({quarters}) r(q) CROSS JOIN {rows}
ORDER BY aar, kvartal, leverandor
"""


INDUSTRIES = [
    ("A", "Jordbruk, skogbruk og fiske", 260, 420),
    ("C", "Industri", 120, 2600),
    ("F", "Bygge- og anleggsvirksomhet", 420, 1650),
    ("G", "Varehandel og reparasjon av motorvogner", 480, 2900),
    ("H", "Transport og lagring", 140, 900),
    ("I", "Overnattings- og serveringsvirksomhet", 110, 700),
    ("J", "Informasjon og kommunikasjon", 130, 650),
    ("M", "Faglig, vitenskapelig og teknisk tjenesteyting", 330, 780),
    ("Q", "Helse- og sosialtjenester", 210, 4300),
    ("P", "Undervisning", 60, 1900),
]


def _businesses(small: bool) -> str:
    years = span(small, 8, 2)  # 2018–2025
    rows = table(INDUSTRIES, "n(kode, naering, bedrifter, ansatte)")
    return f"""
SELECT CAST(2018 + y AS BIGINT) AS aar, n.kode AS naeringskode, n.naering,
  CAST(round(n.bedrifter * (1 + 0.012 * y) * (0.96 + 0.08 * {u("y * 5 + n.bedrifter")}))
       AS BIGINT) AS bedrifter,
  CAST(round(n.ansatte * (1 + 0.008 * y) * (0.97 + 0.06 * {u("y * 3 + n.ansatte")}))
       AS BIGINT) AS sysselsatte,
  CAST(round(n.bedrifter * 0.09 * (0.6 + 0.8 * {u("y * 11 + n.bedrifter")})) AS BIGINT)
    AS nyetableringer
FROM range({years}) r(y) CROSS JOIN {rows}
ORDER BY aar, naeringskode
"""


CONTENTS = [
    Contents(
        "kommuneregnskap",
        (
            Col("year", "integer", "År"),
            Col("kostra_function", "integer", "KOSTRA-funksjon"),
            Col("area", "string", "Tjenesteområde"),
            Col("kind", "string", "Utgift eller inntekt"),
            Col("amount_nok", "integer", "Beløp", "NOK"),
        ),
        _accounts,
    ),
    Contents(
        "budsjett-halden",
        (
            Col("aar", "integer", "Budsjettår"),
            Col("sektor", "string", "Sektor"),
            Col("kategori", "string", "Kategori"),
            Col("budsjett_nok", "integer", "Budsjett", "NOK"),
        ),
        _budget,
    ),
    Contents(
        "eiendomsskatt",
        (
            Col("aar", "integer", "År"),
            Col("eiendomstype", "string", "Eiendomstype"),
            Col("eiendommer", "integer", "Eiendommer", "antall"),
            Col("promillesats", "number", "Skattesats", "promille"),
            Col("skatt_nok", "integer", "Utskrevet skatt", "NOK"),
        ),
        _property_tax,
    ),
    Contents(
        "innkjop-leverandorer",
        (
            Col("aar", "integer", "År"),
            Col("kvartal", "integer", "Kvartal"),
            Col("leverandor", "string", "Leverandør"),
            Col("kategori", "string", "Kategori"),
            Col("belop_nok", "integer", "Beløp", "NOK"),
            Col("fakturaer", "integer", "Fakturaer", "antall"),
        ),
        _purchases,
    ),
    Contents(
        "naeringsliv-bedrifter",
        (
            Col("aar", "integer", "År"),
            Col("naeringskode", "string", "Næringskode (SN2007)"),
            Col("naering", "string", "Næring"),
            Col("bedrifter", "integer", "Bedrifter", "antall"),
            Col("sysselsatte", "integer", "Sysselsatte", "antall"),
            Col("nyetableringer", "integer", "Nyetableringer", "antall"),
        ),
        _businesses,
    ),
]
