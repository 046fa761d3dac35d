"""Demo contents for the data plane, generated deterministically with DuckDB.

Each dataset is created (minimally) only if its slug is missing — the catalog's demo gives
the same slugs rich metadata — and filled only if it has no contents yet, through the same
upload path publishers use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.catalog.models import AccessRights, Classification, Dataset, DatasetStatus
from datatorg.identity.models import Organisation
from datatorg.lake import service as lake
from datatorg.lake.models import WriteMode
from datatorg.settings import Settings

NLOD = "https://data.norge.no/nlod/no/2.0"

# hash-based noise in [0, 1): deterministic, no random state
U = "((hash({0}) % 1000000) / 1000000.0)"

STATIONS = """
SELECT s AS station_no, 'HAL-' || lpad(s::VARCHAR, 3, '0') AS station_id,
  ['Sentrum','Tistedal','Brødløs','Remmen','Rødsberg','Idd','Berg','Sauøy','Kommandantveien',
   'Bergheim','Os allé','Gimle','Låby','Svinesund','Femsjø','Torpum','Hjortsberg','Isebakke',
   'Fredriksten','Rokke'][s + 1] AS station_name,
  59.12 + (s % 5) * 0.012 AS latitude, 11.38 + (s // 5) * 0.02 AS longitude
FROM range(20) t(s)
"""

AIR = f"""
SELECT TIMESTAMP '2024-01-01' + to_hours(h) AS dateObserved, station_id AS stationId,
  station_name AS stationName, latitude, longitude,
  round(greatest(0, 18 + 10 * sin(h / 24.0 * 2 * pi() - 1.5) + 6 * (station_no % 4)
        + 12 * {U.format("h * 97 + station_no")} - 6), 1) AS no2,
  round(greatest(0, 14 + 6 * cos(h / 8760.0 * 2 * pi())
        + 10 * {U.format("h * 89 + station_no")}), 1) AS pm10,
  round(greatest(0, 7 + 3 * cos(h / 8760.0 * 2 * pi())
        + 5 * {U.format("h * 83 + station_no")}), 1) AS pm25
FROM range(17520) r(h) CROSS JOIN ({STATIONS}) st
ORDER BY dateObserved, stationId
"""

TRAFFIC = f"""
SELECT TIMESTAMP '2025-01-01' + to_hours(h) AS time, 'P' || p AS point_id,
  ['Svinesundsbrua','Tistedalsgata','Os allé','Walkers gate','Brødløsveien','E6 Idd',
   'Storgata','Porsnesbrua'][p + 1] AS point_name,
  59.11 + p * 0.01 AS latitude, 11.37 + p * 0.015 AS longitude,
  CAST(round((40 + 200 * (p % 3 + 1) * greatest(0, sin((h % 24 - 5) / 24.0 * pi())))
       * (0.8 + 0.4 * {U.format("h * 13 + p")})) AS BIGINT) AS vehicles,
  round(0.05 + 0.15 * {U.format("h * 7 + p")}, 3) AS heavy_share
FROM range(8760) r(h) CROSS JOIN range(8) q(p)
ORDER BY time, point_id
"""

ENERGY = f"""
SELECT DATE '2024-01-01' + CAST(d AS INTEGER) AS date,
  'B' || lpad(b::VARCHAR, 2, '0') AS building_id,
  ['skole','barnehage','sykehjem','administrasjon','idrettshall'][b % 5 + 1] AS category,
  1000 + 300 * (b % 7) AS area_m2,
  round((800 + 120 * (b % 7)) * (1.3 + 0.5 * cos(d / 365.0 * 2 * pi()))
        * (0.9 + 0.2 * {U.format("d * 31 + b")}), 1) AS kwh
FROM range(730) r(d) CROSS JOIN range(30) q(b)
ORDER BY date, building_id
"""

ACCOUNTS = f"""
SELECT y AS year, f.code AS kostra_function, f.name AS area, k.kind AS kind,
  CAST(round(f.base * (1 + 0.03 * (y - 2015)) * (0.95 + 0.1 * {U.format("y * 7 + f.code")})
       * (CASE k.kind WHEN 'utgift' THEN 1 ELSE 0.35 END)) AS BIGINT) * 1000 AS amount_nok
FROM range(2015, 2025) r(y)
CROSS JOIN (VALUES (202, 'Grunnskole', 420000), (201, 'Barnehage', 210000),
  (253, 'Pleie og omsorg i institusjon', 390000), (254, 'Hjemmetjenester', 260000),
  (241, 'Helse', 90000), (242, 'Sosialtjeneste', 70000), (332, 'Kommunale veier', 60000),
  (345, 'Vann og avløp', 110000), (370, 'Bibliotek', 12000), (385, 'Kultur', 30000),
  (120, 'Administrasjon', 95000), (265, 'Kommunalt disponerte boliger', 40000)) f(code, name, base)
CROSS JOIN (VALUES ('utgift'), ('inntekt')) k(kind)
ORDER BY year, kostra_function, kind
"""

SCHOOLS = f"""
SELECT s.name AS school, y AS school_year, s.lat AS latitude, s.lon AS longitude,
  CAST(s.size * (0.9 + 0.2 * {U.format("y * 17 + s.n")}) AS BIGINT) AS pupils,
  CAST(s.size / 12.0 * (0.9 + 0.2 * {U.format("y * 19 + s.n")}) AS BIGINT) AS teachers,
  round(3.6 + 0.8 * {U.format("y * 23 + s.n")}, 2) AS average_grade
FROM range(2015, 2025) r(y)
CROSS JOIN (VALUES (1, 'Hjortsberg skole', 59.125, 11.39, 420),
  (2, 'Os skole', 59.118, 11.375, 380),
  (3, 'Gimle skole', 59.131, 11.402, 300), (4, 'Låby skole', 59.14, 11.42, 260),
  (5, 'Tistedal skole', 59.13, 11.47, 310), (6, 'Idd skole', 59.09, 11.41, 290),
  (7, 'Rokke skole', 59.16, 11.37, 150), (8, 'Prestebakke skole', 59.0, 11.53, 90),
  (9, 'Strupe ungdomsskole', 59.128, 11.36, 450), (10, 'Kongeveien skole', 59.122, 11.39, 330),
  (11, 'Berg skole', 59.15, 11.32, 240), (12, 'Brødløs skole', 59.14, 11.33, 200))
  s(n, name, lat, lon, size)
ORDER BY school_year, school
"""

METERS = f"""
SELECT 'M-' || lpad(m::VARCHAR, 5, '0') AS meter_id,
  ['1769','1771','1772','1776','1777','1778','1779','1781'][m % 8 + 1] AS postal_code,
  TIMESTAMP '2025-01-01' + to_hours(h) AS reading_time,
  round((0.3 + 0.4 * (m % 5) / 4) * (1.4 + 0.8 * sin((h % 24 - 6) / 24.0 * 2 * pi()))
        * (0.7 + 0.6 * {U.format("h * 101 + m")}), 3) AS kwh
FROM range(2160) r(h) CROSS JOIN range(200) q(m)
ORDER BY reading_time, meter_id
"""

# slug, nb title, en title, query, open?, roles
DATASETS: list[tuple[str, str, str, str, bool, dict[str, str]]] = [
    (
        "luftkvalitet-halden",
        "Luftkvalitet i Halden, timesverdier",
        "Air quality in Halden, hourly",
        AIR,
        True,
        {"dateObserved": "time"},
    ),
    ("trafikktellinger", "Trafikktellinger", "Traffic counts", TRAFFIC, True, {}),
    (
        "energibruk-kommunale-bygg",
        "Energibruk i kommunale bygg",
        "Energy use of municipal buildings",
        ENERGY,
        True,
        {"date": "time"},
    ),
    ("kommuneregnskap", "Kommuneregnskap", "Municipal accounts", ACCOUNTS, True, {}),
    ("skolestatistikk", "Skolestatistikk", "School statistics", SCHOOLS, True, {}),
    (
        "smartmaler-husholdninger",
        "Smartmålere i husholdninger",
        "Household smart-meter readings",
        METERS,
        False,
        {"meter_id": "subject_key", "postal_code": "quasi_identifier"},
    ),
]


def _dataset(session: Session, slug: str, nb: str, en: str, open_data: bool) -> Dataset | None:
    found = session.scalar(select(Dataset).where(Dataset.slug == slug))
    if found is not None:
        return found
    org = session.scalar(select(Organisation).where(Organisation.slug == "halden-kommune"))
    if org is None:
        return None
    ds = Dataset(
        slug=slug,
        title_nb=nb,
        title_en=en,
        publisher_id=org.id,
        access_rights=AccessRights.public if open_data else AccessRights.non_public,
        classification=Classification.open if open_data else Classification.personal,
        has_personal_data=not open_data,
        status=DatasetStatus.published,
        license=NLOD if open_data else "",
    )
    session.add(ds)
    session.flush()
    return ds


def _fill(
    session: Session, settings: Settings, ds: Dataset, sql: str, roles: dict[str, str]
) -> int:
    folder = lake.new_staging(settings)
    source = Path(folder) / "source"
    con = duckdb.connect()
    try:
        con.execute(f"COPY ({sql}) TO '{source}' (FORMAT parquet)")
    finally:
        con.close()
    changes: dict[str, Any] = {"fields": [{"name": n, "role": r} for n, r in roles.items()]}
    version = lake.ingest_file(
        session=session,
        settings=settings,
        dataset=ds,
        source=source,
        filename=f"{ds.slug}.parquet",
        mode=WriteMode.replace,
        uploaded_by=None,
        changes=changes,
    )
    return version.row_count


def load(*, session: Session, settings: Settings) -> dict[str, int]:
    """Create missing demo datasets and fill those without contents; rows per slug."""
    out: dict[str, int] = {}
    for slug, nb, en, sql, open_data, roles in DATASETS:
        ds = _dataset(session, slug, nb, en, open_data)
        if ds is None:
            continue
        if lake.head(session=session, dataset_id=ds.id) is not None:
            continue
        out[slug] = _fill(session, settings, ds, sql, roles)
    session.flush()
    return out
