"""Education and culture: schools, kindergartens, libraries, students, sports, the fortress."""

from __future__ import annotations

from datatorg.demo.contents.base import Col, Contents, span, table, u

SCHOOLS = [
    (1, "Hjortsberg skole", 59.125, 11.39, 420),
    (2, "Os skole", 59.118, 11.375, 380),
    (3, "Gimle skole", 59.131, 11.402, 300),
    (4, "Låby skole", 59.14, 11.42, 260),
    (5, "Tistedal skole", 59.13, 11.47, 310),
    (6, "Idd skole", 59.09, 11.41, 290),
    (7, "Rokke skole", 59.16, 11.37, 150),
    (8, "Prestebakke skole", 59.0, 11.53, 90),
    (9, "Strupe ungdomsskole", 59.128, 11.36, 450),
    (10, "Kongeveien skole", 59.122, 11.39, 330),
    (11, "Berg skole", 59.15, 11.32, 240),
    (12, "Brødløs skole", 59.14, 11.33, 200),
]


def _schools(small: bool) -> str:
    years = span(small, 10, 2)  # 2015–2024
    schools = table(SCHOOLS, "s(n, name, lat, lon, size)")
    return f"""
SELECT s.name AS school, CAST(2015 + y AS BIGINT) AS school_year, s.lat AS latitude,
  s.lon AS longitude,
  CAST(s.size * (0.9 + 0.2 * {u("(2015 + y) * 17 + s.n")}) AS BIGINT) AS pupils,
  CAST(s.size / 12.0 * (0.9 + 0.2 * {u("(2015 + y) * 19 + s.n")}) AS BIGINT) AS teachers,
  round(3.6 + 0.8 * {u("(2015 + y) * 23 + s.n")}, 2) AS average_grade
FROM range({years}) r(y) CROSS JOIN {schools}
ORDER BY school_year, school
"""


KINDERGARTENS = [
    ("Brødløs barnehage", "Kommunal", 59.1345, 11.3371, 84),
    ("Tistedal barnehage", "Kommunal", 59.1295, 11.4566, 96),
    ("Idd barnehage", "Kommunal", 59.0978, 11.4189, 72),
    ("Rokke barnehage", "Kommunal", 59.1552, 11.3541, 48),
    ("Gimle barnehage", "Kommunal", 59.1312, 11.4011, 90),
    ("Låby barnehage", "Kommunal", 59.1404, 11.4212, 66),
    ("Risum barnehage", "Kommunal", 59.1421, 11.3718, 102),
    ("Solsikken barnehage", "Privat", 59.1241, 11.3833, 60),
    ("Fjordglimt barnehage", "Privat", 59.1102, 11.3521, 54),
    ("Tyrihjelm naturbarnehage", "Privat", 59.1488, 11.4402, 36),
    ("Os barnehage", "Kommunal", 59.1189, 11.3762, 78),
    ("Berg barnehage", "Kommunal", 59.1497, 11.3226, 42),
]


def _kindergartens(small: bool) -> str:
    years = span(small, 8, 2)  # 2018–2025
    rows = table(KINDERGARTENS, "b(navn, eierform, lat, lon, plasser)")
    return f"""
SELECT CAST(2018 + y AS BIGINT) AS aar, b.navn AS barnehage, b.eierform,
  b.lat AS latitude, b.lon AS longitude, CAST(b.plasser AS BIGINT) AS plasser,
  CAST(round(b.plasser * (0.82 + 0.16 * {u("y * 7 + b.plasser")})) AS BIGINT) AS barn,
  round(38 + 24 * {u("y * 11 + b.plasser")}, 1) AS barnehagelaerere_pct
FROM range({years}) r(y) CROSS JOIN {rows}
ORDER BY aar, barnehage
"""


MEDIA = [("Bøker", 5200.0), ("Lydbøker", 900.0), ("E-bøker", 1400.0), ("Film", 450.0),
         ("Tidsskrifter", 300.0), ("Spill", 220.0)]  # fmt: skip


def _library(small: bool) -> str:
    months = span(small, 96, 12)  # 2018–2025
    media = table(MEDIA, "m(medietype, base)")
    return f"""
SELECT CAST(DATE '2018-01-01' + to_months(mo) AS DATE) AS maaned, b.filial, m.medietype,
  CAST(round(m.base * b.share * (1 + 0.12 * cos((mo % 12 - 1) / 12.0 * 2 * pi()))
       * (CASE WHEN m.medietype = 'E-bøker' THEN 1 + 0.08 * mo / 12.0 ELSE 1 END)
       * (CASE WHEN mo BETWEEN 26 AND 29 THEN 0.3 ELSE 1 END)
       * (0.92 + 0.16 * {u("mo * 13 + m.base + b.share * 100")})) AS BIGINT) AS utlan
FROM range({months}) r(mo) CROSS JOIN {media}
CROSS JOIN (VALUES ('Hovedbiblioteket', 1.0), ('Tistedal filial', 0.15)) b(filial, share)
ORDER BY maaned, filial, medietype
"""


FACULTIES = [
    ("Helse, velferd og organisasjon", "Fredrikstad", 2600),
    ("Informasjonsteknologi, ingeniørfag og økonomi", "Halden", 2100),
    ("Lærerutdanninger og språk", "Halden", 1900),
    ("Økonomi, språk og samfunnsfag", "Halden", 1500),
    ("Akademi for scenekunst", "Fredrikstad", 250),
]


def _students(small: bool) -> str:
    years = span(small, 8, 2)  # 2018–2025
    rows = table(FACULTIES, "f(fakultet, studiested, base)")
    return f"""
SELECT CAST(2018 + y AS BIGINT) AS aar, f.fakultet, f.studiested,
  CAST(round(f.base * (1 + 0.02 * y) * (0.95 + 0.1 * {u("y * 7 + f.base")})) AS BIGINT)
    AS registrerte_studenter,
  CAST(round(f.base * 0.24 * (0.9 + 0.2 * {u("y * 11 + f.base")})) AS BIGINT) AS uteksaminerte
FROM range({years}) r(y) CROSS JOIN {rows}
ORDER BY aar, fakultet
"""


INDICES = ["Trivsel", "Støtte fra lærerne", "Motivasjon", "Mestring", "Vurdering for læring",
           "Mobbing på skolen (andel)"]  # fmt: skip


def _pupil_survey(small: bool) -> str:
    years = span(small, 8, 1)  # 2018–2025
    schools = table([(n, name) for n, name, *_ in SCHOOLS], "s(n, name)")
    return f"""
SELECT CAST(2018 + y AS BIGINT) AS aar, s.name AS skole, t.trinn, i.indeks,
  round(CASE WHEN i.indeks LIKE 'Mobbing%' THEN 4 + 6 * {u("y * 3 + s.n * 7 + t.trinn")}
        ELSE 3.7 + 0.7 * {u("y * 5 + s.n * 11 + t.trinn + length(i.indeks)")} END, 1) AS verdi,
  CASE WHEN i.indeks LIKE 'Mobbing%' THEN 'prosent' ELSE 'snitt 1–5' END AS enhet,
  CAST(round(25 + 40 * {u("y * 13 + s.n")}) AS BIGINT) AS antall_svar
FROM range({years}) r(y) CROSS JOIN {schools}
CROSS JOIN (VALUES (7), (10)) t(trinn)
CROSS JOIN (SELECT unnest([{", ".join("'" + i + "'" for i in INDICES)}]) AS indeks) i
WHERE NOT (s.name LIKE '%ungdomsskole' AND t.trinn = 7)
ORDER BY aar, skole, trinn, indeks
"""


FACILITIES = [
    ("Halden stadion", "Fotballbane", 59.1254, 11.3951, 1962, True),
    ("Remmenhallen", "Idrettshall", 59.1307, 11.3559, 2009, True),
    ("Halden svømmehall", "Svømmehall", 59.1241, 11.3874, 1975, True),
    ("Tistedalshallen", "Idrettshall", 59.1287, 11.4521, 1988, False),
    ("Rødsberg lysløype", "Lysløype", 59.1452, 11.4105, 1984, False),
    ("Idd idrettspark", "Fotballbane", 59.0981, 11.4178, 2001, True),
    ("Brødløs kunstgress", "Fotballbane", 59.1338, 11.3402, 2014, True),
    ("Busterminalen skatepark", "Skatepark", 59.1229, 11.3892, 2019, True),
    ("Fredriksten turløyper", "Turløype", 59.1176, 11.3961, 1990, False),
    ("Berg flerbrukshall", "Idrettshall", 59.1491, 11.3215, 2016, True),
    ("Rokke golfbane", "Golfbane", 59.1588, 11.3462, 1992, False),
    ("Os turnhall", "Turnhall", 59.1195, 11.3771, 1999, True),
    ("Kiosken badeplass", "Badeplass", 59.1142, 11.3612, 1970, False),
    ("Sauøy friluftsområde", "Friluftsområde", 59.1078, 11.3448, 1980, False),
]


def _facilities(small: bool) -> str:
    rows = table(FACILITIES, "f(navn, type, lat, lon, aar, uu)")
    return f"""
SELECT 'IA-' || lpad(CAST(row_number() OVER (ORDER BY f.navn) AS VARCHAR), 3, '0') AS anlegg_id,
  f.navn, f.type AS anleggstype, f.lat AS latitude, f.lon AS longitude,
  CAST(f.aar AS BIGINT) AS byggeaar, f.uu AS universelt_utformet
FROM {rows}
ORDER BY anlegg_id
LIMIT {4 if small else len(FACILITIES)}
"""


def _fortress(small: bool) -> str:
    months = span(small, 96, 12)
    kinds = table(
        [("Festningsområdet", 9000.0), ("Museer", 1800.0), ("Arrangementer", 2500.0),
         ("Guidede turer", 600.0)],
        "k(kategori, base)",
    )  # fmt: skip
    return f"""
SELECT CAST(DATE '2018-01-01' + to_months(m) AS DATE) AS maaned, k.kategori,
  CAST(round(k.base * (0.15 + 1.7 * greatest(0, sin(((m % 12) - 2.5) / 9.0 * pi())))
       * (CASE WHEN m BETWEEN 26 AND 37 THEN 0.45 ELSE 1 END)
       * (0.85 + 0.3 * {u("m * 7 + k.base")})) AS BIGINT) AS besokende
FROM range({months}) r(m) CROSS JOIN {kinds}
ORDER BY maaned, kategori
"""


CONTENTS = [
    Contents(
        "skolestatistikk",
        (
            Col("school", "string", "Skole"),
            Col("school_year", "integer", "Skoleår (høsten)"),
            Col("latitude", "number", "Breddegrad", "grader", "latitude"),
            Col("longitude", "number", "Lengdegrad", "grader", "longitude"),
            Col("pupils", "integer", "Elever", "antall"),
            Col("teachers", "integer", "Lærerårsverk", "antall"),
            Col(
                "average_grade", "number", "Gjennomsnittlig grunnskolepoeng per fag", "karakter 1–6"
            ),
        ),
        _schools,
    ),
    Contents(
        "barnehager",
        (
            Col("aar", "integer", "År"),
            Col("barnehage", "string", "Barnehage"),
            Col("eierform", "string", "Eierform"),
            Col("latitude", "number", "Breddegrad", "grader", "latitude"),
            Col("longitude", "number", "Lengdegrad", "grader", "longitude"),
            Col("plasser", "integer", "Godkjente plasser", "antall"),
            Col("barn", "integer", "Barn", "antall"),
            Col("barnehagelaerere_pct", "number", "Ansatte med barnehagelærerutdanning", "%"),
        ),
        _kindergartens,
    ),
    Contents(
        "bibliotek-utlan",
        (
            Col("maaned", "date", "Måned", role="time"),
            Col("filial", "string", "Bibliotek"),
            Col("medietype", "string", "Medietype"),
            Col("utlan", "integer", "Utlån", "antall"),
        ),
        _library,
    ),
    Contents(
        "studenter-hiof",
        (
            Col("aar", "integer", "År"),
            Col("fakultet", "string", "Fakultet"),
            Col("studiested", "string", "Studiested"),
            Col("registrerte_studenter", "integer", "Registrerte studenter", "antall"),
            Col("uteksaminerte", "integer", "Uteksaminerte kandidater", "antall"),
        ),
        _students,
    ),
    Contents(
        "elevundersokelsen",
        (
            Col("aar", "integer", "År"),
            Col("skole", "string", "Skole"),
            Col("trinn", "integer", "Trinn"),
            Col("indeks", "string", "Indeks"),
            Col("verdi", "number", "Verdi"),
            Col("enhet", "string", "Enhet"),
            Col("antall_svar", "integer", "Svar", "antall"),
        ),
        _pupil_survey,
    ),
    Contents(
        "idrettsanlegg",
        (
            Col("anlegg_id", "string", "Anlegg-ID"),
            Col("navn", "string", "Navn"),
            Col("anleggstype", "string", "Anleggstype"),
            Col("latitude", "number", "Breddegrad", "grader", "latitude"),
            Col("longitude", "number", "Lengdegrad", "grader", "longitude"),
            Col("byggeaar", "integer", "Byggeår"),
            Col("universelt_utformet", "boolean", "Universelt utformet"),
        ),
        _facilities,
    ),
    Contents(
        "fredriksten-besokende",
        (
            Col("maaned", "date", "Måned", role="time"),
            Col("kategori", "string", "Kategori"),
            Col("besokende", "integer", "Besøkende", "antall"),
        ),
        _fortress,
    ),
]
