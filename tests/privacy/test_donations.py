"""Data donation: bad files refused whole, rows linked to the donor, consent per purpose,
taking back (next query) and erasure (every file)."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from sqlalchemy.orm import Session

from datatorg.errors import Invalid, PayloadTooLarge
from datatorg.lake import service as lake
from datatorg.privacy import donations, filters
from datatorg.privacy import service as privacy
from datatorg.settings import Settings
from tests.factories import make_org
from tests.privacy.helpers import citizen

GOOD_CSV = b"time;kwh\n2025-01-01T00:00;0,5\n2025-01-01T01:00;0,75\n"
GOOD_JSON = b'[{"start": "2025-03-01T08:00", "end": "2025-03-01T08:20", "mode": "Bike", "km": 4.2}]'


def _donor(session: Session, settings: Settings):  # type: ignore[no-untyped-def]
    make_org(session, slug="halden-kommune") if session.execute(
        __import__("sqlalchemy").text("select 1 from organisations where slug='halden-kommune'")
    ).first() is None else None
    return privacy.subject_for_user(session=session, settings=settings, user=citizen(session))


def _keys(session: Session, settings: Settings, slug: str) -> list[str]:
    from datatorg.catalog import service as catalog

    ds = catalog.get_dataset(session=session, ref=slug)
    assert ds is not None
    head = lake.head_files(session=session, settings=settings, dataset_id=ds.id)
    assert head is not None
    return [k for p in head.paths for k in pq.read_table(p).column("giver").to_pylist()]


def test_donate_see_take_back_and_erase(session: Session, settings: Settings) -> None:
    donor = _donor(session, settings)
    d = donations.donate(
        session=session,
        settings=settings,
        subject=donor,
        kind_name="meter",
        raw=GOOD_CSV,
        filename="export.csv",
        purposes=["CombatClimateChange", "DataAltruism"],
    )
    assert (
        d.rows == 2
        and _keys(session, settings, "donerte-strommalinger").count(donor.subject_key) == 2
    )
    other = _donor(session, settings)
    donations.donate(
        session=session,
        settings=settings,
        subject=other,
        kind_name="meter",
        raw=GOOD_CSV,
        filename="x.csv",
        purposes=["DataAltruism"],
    )
    keep, _drop = filters.subject_filter(
        session=session,
        dataset_id=d.dataset_id,
        publisher_id=_publisher(session, d.dataset_id),
        purpose="CombatClimateChange",
        owner=False,
    )
    assert keep == {donor.subject_key}
    trip = donations.donate(
        session=session,
        settings=settings,
        subject=donor,
        kind_name="trips",
        raw=GOOD_JSON,
        filename="trips.json",
        purposes=["ImproveTransportMobility"],
    )
    assert trip.rows == 1
    out = donations.take_back(
        session=session, settings=settings, subject=donor, donation_id=d.id, erase=False
    )
    assert out == {"consents_withdrawn": 2, "rows_removed": 0}
    keep, _drop = filters.subject_filter(
        session=session,
        dataset_id=d.dataset_id,
        publisher_id=_publisher(session, d.dataset_id),
        purpose="CombatClimateChange",
        owner=False,
    )
    assert keep == frozenset()
    out = donations.take_back(
        session=session, settings=settings, subject=donor, donation_id=d.id, erase=True
    )
    assert out["rows_removed"] == 2
    keys = _keys(session, settings, "donerte-strommalinger")
    assert donor.subject_key not in keys and keys.count(other.subject_key) == 2


def _publisher(session: Session, dataset_id):  # type: ignore[no-untyped-def]
    from datatorg.catalog.models import Dataset

    ds = session.get(Dataset, dataset_id)
    assert ds is not None
    return ds.publisher_id


@pytest.mark.parametrize(
    "raw, where",
    [
        (b"time,kwh\n2025-01-01T00:00,=1+1\n", "kwh"),
        (b"time,kwh\nyesterday,1\n", "time"),
        (b"time,kwh\n2025-01-01T00:00\n", None),
        (b"tid,kwh\n2025-01-01T00:00,1\n", None),
        (b"\xff\xfe\x00t\x00i", None),
        (b"time,kwh\n2025-01-01T00:00,nan\n", "kwh"),
        (b'[{"time": "2025-01-01T00:00", "kwh": {"nested": 1}}]', "kwh"),
        (b"[1, 2, 3]", None),
        (b"time,kwh\n", None),
    ],
)
def test_bad_donations_are_refused_whole(
    session: Session, settings: Settings, raw: bytes, where: str | None
) -> None:
    donor = _donor(session, settings)
    with pytest.raises(Invalid) as exc:
        donations.donate(
            session=session,
            settings=settings,
            subject=donor,
            kind_name="meter",
            raw=raw,
            filename="x.csv",
            purposes=["DataAltruism"],
        )
    if where:
        assert exc.value.extra["errors"][0]["column"] == where
    assert donations.list_for(session=session, subject=donor) == []


def test_latin1_and_limits(session: Session, settings: Settings) -> None:
    donor = _donor(session, settings)
    raw = "start,end,mode,km\n2025-03-01T08:00,2025-03-01T09:00,båt,3\n".encode("latin-1")
    with pytest.raises(Invalid) as exc:  # decoded fine; "båt" is not a travel mode
        donations.donate(
            session=session,
            settings=settings,
            subject=donor,
            kind_name="trips",
            raw=raw,
            filename="t.csv",
            purposes=["DataAltruism"],
        )
    assert "mode" in str(exc.value.extra)
    with pytest.raises(PayloadTooLarge):
        donations.donate(
            session=session,
            settings=settings,
            subject=donor,
            kind_name="meter",
            raw=b"x" * (donations.MAX_BYTES + 1),
            filename="x.csv",
            purposes=["DataAltruism"],
        )
    for kind, purposes in (("photos", ["DataAltruism"]), ("meter", []), ("meter", ["Advertising"])):
        with pytest.raises(Invalid):
            donations.donate(
                session=session,
                settings=settings,
                subject=donor,
                kind_name=kind,
                raw=GOOD_CSV,
                filename="x.csv",
                purposes=purposes,
            )
