"""Demo contents for the data plane: every demo dataset gets generated rows.

The rows come from ``demo/contents`` (deterministic DuckDB queries). Each dataset is created
minimally only if its slug is missing — the catalog's demo gives the same slugs rich metadata
— and filled only if it has no contents yet, through the same upload path publishers use,
with the columns' titles, units and roles as a publisher would set them in the review step.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.access import service as access
from datatorg.audit import service as audit
from datatorg.catalog.models import AccessRights, Classification, Dataset, DatasetStatus
from datatorg.demo.contents import CONTENTS, Contents
from datatorg.identity.actor import ANONYMOUS
from datatorg.identity.models import Organisation
from datatorg.lake import service as lake
from datatorg.lake.models import WriteMode
from datatorg.settings import Settings

# a dataset names its licence by the catalog's code (datatorg.catalog.vocab.LICENCES)
NLOD = "NLOD-2.0"

# Datasets the lake makes itself when the catalog's demo has not: slug, nb, en, open?
MINIMAL = {
    "luftkvalitet-halden": ("Luftkvalitet i Halden, timesverdier", "Air quality, hourly", True),
    "trafikktellinger": ("Trafikktellinger", "Traffic counts", True),
    "energibruk-kommunale-bygg": (
        "Energibruk i kommunale bygg",
        "Energy use of municipal buildings",
        False,
    ),
    "kommuneregnskap": ("Kommuneregnskap", "Municipal accounts", True),
    "skolestatistikk": ("Skolestatistikk", "School statistics", True),
    "smartmaler-husholdninger": (
        "Smartmålere i husholdninger",
        "Household smart-meter readings",
        False,
    ),
}


def _minimal(session: Session, slug: str) -> Dataset | None:
    found = session.scalar(select(Dataset).where(Dataset.slug == slug))
    if found is not None or slug not in MINIMAL:
        return found
    org = session.scalar(select(Organisation).where(Organisation.slug == "halden-kommune"))
    if org is None:
        return None
    nb, en, open_data = MINIMAL[slug]
    personal = slug == "smartmaler-husholdninger"
    ds = Dataset(
        slug=slug,
        title_nb=nb,
        title_en=en,
        publisher_id=org.id,
        access_rights=AccessRights.public
        if open_data
        else (AccessRights.non_public if personal else AccessRights.restricted),
        classification=Classification.open
        if open_data
        else (Classification.personal if personal else Classification.restricted),
        has_personal_data=personal,
        status=DatasetStatus.published,
        license=NLOD if open_data else "agreement",
    )
    session.add(ds)
    session.flush()
    return ds


def fill(session: Session, settings: Settings, ds: Dataset, contents: Contents, small: bool) -> int:
    """Write ``contents`` as the dataset's next version; returns its row count."""
    folder = lake.new_staging(settings)
    source = Path(folder) / "source"
    con = duckdb.connect()
    try:
        con.execute(f"COPY ({contents.sql(small=small)}) TO '{source}' (FORMAT parquet)")
    finally:
        con.close()
    version = lake.ingest_file(
        session=session,
        settings=settings,
        dataset=ds,
        source=source,
        filename=f"{ds.slug}.parquet",
        mode=WriteMode.replace,
        uploaded_by=None,
        changes=contents.changes(),
    )
    return version.row_count


# Reads the demo world starts with, through the gate like anyone's (so the front page's
# "most used" has something to show): slug → reads.
FIRST_READS = {
    "luftkvalitet-halden": 6,
    "barnehager": 5,
    "kollektiv-passasjerer": 4,
    "trafikktellinger": 3,
    "budsjett-halden": 2,
}


def first_reads(*, session: Session, settings: Settings) -> int:
    """Read a few open datasets anonymously (audited as every read), once."""
    done = 0
    for slug, times in FIRST_READS.items():
        ds = session.scalar(select(Dataset).where(Dataset.slug == slug))
        if ds is None or not ds.is_open or lake.head(session=session, dataset_id=ds.id) is None:
            continue
        if audit.count(session=session, action="data.read", target_id=str(ds.id)):
            continue
        for _ in range(times):
            access.read(
                session=session,
                settings=settings,
                actor=ANONYMOUS,
                dataset=ds,
                items=[("_size", "10")],
                channel="api",
            )
            done += 1
    return done


def load(*, session: Session, settings: Settings, small: bool = False) -> dict[str, int]:
    """Fill every demo dataset that has no contents yet; rows written per slug.

    ``small``: a short slice of every series (about 15,000 rows in all instead of a million),
    for quick worlds such as the browser tests.
    """
    out: dict[str, int] = {}
    for slug, contents in CONTENTS.items():
        ds = _minimal(session, slug)
        if ds is None:
            continue
        if lake.head(session=session, dataset_id=ds.id) is not None:
            continue
        out[slug] = fill(session, settings, ds, contents, small)
    session.flush()
    first_reads(session=session, settings=settings)
    return out
