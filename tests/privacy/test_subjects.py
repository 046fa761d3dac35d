"""The subject registry: sealed identities, keyed lookup, linking uploads to subjects."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.errors import Conflict, Invalid
from datatorg.lake import service as lake
from datatorg.privacy import crypto
from datatorg.privacy import service as privacy
from datatorg.privacy.models import IdentityKind, Subject, SubjectIdentity
from datatorg.privacy.subjects import normalise, valid_national_id
from datatorg.settings import Settings
from tests.factories import make_org
from tests.privacy.helpers import citizen, meter_csv, personal_dataset, upload_csv


def test_identities_are_sealed_and_found_by_keyed_hash(
    session: Session, settings: Settings
) -> None:
    subject = privacy.new_subject(session, settings)
    privacy.add_identity(
        session=session,
        settings=settings,
        subject=subject,
        kind=IdentityKind.email,
        value=" Ola.Nordmann@Example.no ",
    )
    row = session.scalar(select(SubjectIdentity).where(SubjectIdentity.subject_id == subject.id))
    assert row is not None
    assert "ola" not in row.sealed.lower() and "example" not in row.sealed.lower()
    assert "ola.nordmann" not in row.lookup
    found = privacy.find_by_identity(
        session=session, settings=settings, kind=IdentityKind.email, value="ola.nordmann@example.no"
    )
    assert found is not None and found.id == subject.id
    assert privacy.identities(session=session, settings=settings, subject=subject) == [
        ("email", "ola.nordmann@example.no")
    ]
    # a ciphertext moved to another subject does not open (bound by associated data)
    other = privacy.new_subject(session, settings)
    k = privacy.keys_of(settings)
    with pytest.raises(ValueError):
        k.unseal(row.sealed, context=f"{other.id}:email")


def test_an_identity_belongs_to_one_subject(session: Session, settings: Settings) -> None:
    a = privacy.new_subject(session, settings)
    b = privacy.new_subject(session, settings)
    privacy.add_identity(
        session=session, settings=settings, subject=a, kind=IdentityKind.meter_number, value="m-1"
    )
    with pytest.raises(Conflict):
        privacy.add_identity(
            session=session,
            settings=settings,
            subject=b,
            kind=IdentityKind.meter_number,
            value="M-1",
        )


def test_national_identity_numbers_are_checked() -> None:
    assert valid_national_id("01010000000") is False
    assert valid_national_id("15076500565")  # a published test number
    with pytest.raises(Invalid) as exc:
        normalise(IdentityKind.national_id, "15076500566")
    assert "15076500566" not in str(exc.value.detail)
    assert normalise(IdentityKind.national_id, "150765 00565") == "15076500565"
    for hostile in ("", "x" * 65, "'; DROP TABLE x; --", "=cmd|' /C calc'!A0", "../../etc"):
        with pytest.raises(Invalid):
            normalise(IdentityKind.customer_number, hostile)


def test_subject_keys_are_pseudonyms_of_the_internal_id(settings: Settings) -> None:
    k = crypto.keys(settings.secret_key.get_secret_value())
    key = k.subject_key("3f1c0b2e-0000-0000-0000-000000000000")
    assert key.startswith("sk-") and len(key) == crypto.SUBJECT_KEY_LENGTH
    assert key == k.subject_key("3f1c0b2e-0000-0000-0000-000000000000")
    other = crypto.keys("another-secret-of-at-least-32-characters!!")
    assert other.subject_key("3f1c0b2e-0000-0000-0000-000000000000") != key


def test_uploads_link_rows_to_subjects_and_keep_no_identity(
    session: Session, settings: Settings
) -> None:
    org = make_org(session)
    ds = personal_dataset(session, org)
    version = upload_csv(session, settings, ds, meter_csv(["M-00001", "M-00002", "m-00001"]))
    head = lake.head_files(session=session, settings=settings, dataset_id=ds.id)
    assert head is not None and version.row_count == 9
    table = pq.read_table(head.paths[0])
    keys = set(table.column("meter_id").to_pylist())
    assert len(keys) == 2  # "m-00001" and "M-00001" are one meter
    assert all(k.startswith("sk-") for k in keys)
    raw = b"".join(p.read_bytes() for p in head.paths)
    assert b"M-00001" not in raw and b"M-00002" not in raw
    field = {f["name"]: f for f in head.schema["fields"]}["meter_id"]
    assert field["role"] == "subject_key" and field["type"] == "string"
    subject = privacy.find_by_identity(
        session=session, settings=settings, kind=IdentityKind.meter_number, value="M-00001"
    )
    assert subject is not None and subject.subject_key in keys
    # an append links known meters to the same subjects and new ones to new subjects
    from datatorg.lake.models import WriteMode

    upload_csv(
        session, settings, ds, meter_csv(["M-00002", "M-00003"], hours=1), mode=WriteMode.append
    )
    head = lake.head_files(session=session, settings=settings, dataset_id=ds.id)
    assert head is not None
    keys2 = set(pq.read_table(head.paths[-1]).column("meter_id").to_pylist())
    assert len(keys2 & keys) == 1 and len(keys2) == 2
    staging = settings.lake_path / "staging"
    leftovers = [p for p in staging.rglob("*") if p.is_file() and b"M-0000" in p.read_bytes()]
    assert leftovers == []


def test_a_file_without_the_subject_column_is_refused_whole(
    session: Session, settings: Settings
) -> None:
    org = make_org(session)
    ds = personal_dataset(session, org)
    with pytest.raises(Invalid) as exc:
        upload_csv(session, settings, ds, "maaler,kwh\nM-1,1.0\n")
    assert "meter_id" in exc.value.detail
    assert lake.head(session=session, dataset_id=ds.id) is None
    bad = personal_dataset(session, org, column="email", kind=IdentityKind.email)
    before = session.scalar(select(Subject.id).order_by(Subject.created_at.desc()).limit(1))
    with pytest.raises(Invalid) as exc2:
        upload_csv(session, settings, bad, "email,kwh\nola@example.no,1\nnot-an-address,2\n")
    assert "not-an-address" not in exc2.value.detail
    assert lake.head(session=session, dataset_id=bad.id) is None
    after = session.scalar(select(Subject.id).order_by(Subject.created_at.desc()).limit(1))
    assert before == after


def test_a_citizen_account_is_linked_to_its_subject(session: Session, settings: Settings) -> None:
    subject = privacy.new_subject(session, settings)
    privacy.add_identity(
        session=session,
        settings=settings,
        subject=subject,
        kind=IdentityKind.email,
        value="kari@example.no",
    )
    user = citizen(session, email="kari@example.no")
    assert privacy.subject_for_user(session=session, settings=settings, user=user).id == subject.id
    # ID-porten's verified national identity number attaches to the same subject
    linked = privacy.link_verified_identity(
        session=session,
        settings=settings,
        user=user,
        kind=IdentityKind.national_id,
        value="15076500565",
    )
    assert linked.id == subject.id
    assert ("national_id", "15076500565") in privacy.identities(
        session=session, settings=settings, subject=subject
    )
    stranger = citizen(session)
    with pytest.raises(Conflict):
        privacy.link_verified_identity(
            session=session,
            settings=settings,
            user=stranger,
            kind=IdentityKind.national_id,
            value="15076500565",
        )


@pytest.mark.parametrize("role", ["", "quasi_identifier"])
def test_the_subject_column_keeps_its_role_at_publish(
    session: Session, settings: Settings, role: str
) -> None:
    """A publisher's schema change cannot take the subject key role off the linked column:
    without it the gate would not know whose rows they are, and the consent filter,
    restriction and erasure would never reach them (the file was published unfiltered)."""
    ds = personal_dataset(session, make_org(session))
    change = {"fields": [{"name": "meter_id", "role": role}]}
    with pytest.raises(Invalid) as exc:
        upload_csv(session, settings, ds, meter_csv(["M-00001", "M-00002"]), changes=change)
    assert exc.value.extra["errors"] == [
        {
            "field": "fields[0].role",
            "message": "Denne kolonnen har nøklene til personene radene handler om; "
            "rollen kan ikke endres.",
        }
    ]
    assert lake.head(session=session, dataset_id=ds.id) is None
    version = upload_csv(
        session,
        settings,
        ds,
        meter_csv(["M-00001"]),
        changes={"fields": [{"name": "kwh", "role": "quasi_identifier"}]},
    )
    roles = {f["name"]: f.get("role") for f in version.table_schema["fields"]}
    assert roles["meter_id"] == "subject_key" and roles["kwh"] == "quasi_identifier"
