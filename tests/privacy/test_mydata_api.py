"""My data and the data subject request API: rows about the citizen through the gate,
the access export (validated against its JSON Schema), erasure through a request,
donations, and bad input."""

from __future__ import annotations

import io
import json
import zipfile

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.audit.models import AuditEvent
from datatorg.identity import service as identity
from datatorg.identity.models import Role
from datatorg.privacy import export
from datatorg.privacy import service as privacy
from datatorg.privacy.models import IdentityKind
from datatorg.settings import Settings
from tests.factories import make_org, make_token
from tests.privacy.helpers import citizen, meter_csv, personal_dataset, upload_csv


def _world(session: Session, settings: Settings):  # type: ignore[no-untyped-def]
    org = make_org(session)
    ds = personal_dataset(session, org)
    person = citizen(session)
    meter = f"M-{person.id.hex[:8]}"
    upload_csv(session, settings, ds, meter_csv([meter, "M-ANOTHER-1"], hours=4))
    subject = privacy.find_by_identity(
        session=session, settings=settings, kind=IdentityKind.meter_number, value=meter
    )
    assert subject is not None
    subject.user_id = person.id
    session.flush()
    steward = citizen(session)
    identity.add_membership(session=session, user=steward, organisation=org, role=Role.steward)
    return org, ds, person, subject, meter, steward


def test_my_data_shows_rows_about_me_and_nothing_else(
    client: TestClient, session: Session, settings: Settings
) -> None:
    _org, ds, person, subject, meter, _steward = _world(session, settings)
    auth = make_token(session, person)
    body = client.get("/api/v1/me/data", headers=auth).json()
    assert [d["dataset"] for d in body["datasets"]] == [ds.slug]
    held = body["datasets"][0]
    assert held["rows"] == 4 and len(held["excerpt"]) == 4
    assert "meter_id" not in held["columns"] and subject.subject_key not in json.dumps(body)
    assert {"kind": "meter_number", "label": "Målernummer", "value": meter.upper()} in body[
        "identities"
    ]
    reads = client.app.state  # noqa: F841 - the read is audited as the subject's own
    from sqlalchemy import select

    ev = session.scalars(select(AuditEvent).where(AuditEvent.target_id == str(ds.id))).all()
    assert any(e.details.get("channel") == "subject" for e in ev)
    assert all(
        meter not in json.dumps(e.details) and subject.subject_key not in json.dumps(e.details)
        for e in ev
    )
    assert client.get("/api/v1/me/data").status_code == 401


def test_access_request_gives_a_valid_export(
    client: TestClient, session: Session, settings: Settings
) -> None:
    _org, ds, person, subject, meter, steward = _world(session, settings)
    auth, desk = make_token(session, person), make_token(session, steward)
    client.post(
        "/api/v1/me/consents",
        headers=auth,
        json={"purpose": "ScientificResearch", "scope_kind": "dataset", "scope_ref": ds.slug},
    )
    r = client.post("/api/v1/me/requests", json={"type": "access"}, headers=auth)
    assert r.status_code == 201 and r.json()["state"] == "received", r.text
    rid = r.json()["id"]
    assert client.get(f"/api/v1/me/requests/{rid}/export.zip", headers=auth).status_code == 409
    queue = client.get("/api/v1/privacy/requests", headers=desk).json()
    assert rid in [i["id"] for i in queue["items"]]
    assert client.get("/api/v1/privacy/requests", headers=auth).status_code == 403
    assert (
        client.post(
            f"/api/v1/privacy/requests/{rid}/actions", json={"action": "complete"}, headers=desk
        ).status_code
        == 409
    )
    ok = client.post(
        f"/api/v1/privacy/requests/{rid}/actions",
        json={"action": "verify", "method": "BankID"},
        headers=desk,
    )
    assert ok.status_code == 200
    done = client.post(
        f"/api/v1/privacy/requests/{rid}/actions", json={"action": "complete"}, headers=desk
    )
    assert done.status_code == 200 and done.json()["export_url"]
    z = client.get(done.json()["export_url"], headers=auth)
    assert z.status_code == 200 and z.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(z.content))
    doc = json.loads(archive.read("export.json"))
    export.validate(doc)
    assert doc["datasets"][0]["rows"] == 4 and len(doc["datasets"][0]["data"]) == 4
    assert f"datasets/{ds.slug}.csv" in archive.namelist()
    assert archive.read(f"datasets/{ds.slug}.csv").count(b"\n") == 5
    receipt = json.loads(archive.read(doc["receipts"][0]))
    jwk = client.get("/api/v1/privacy/receipt-key").json()["keys"][0]
    assert privacy.verify_receipt(receipt, jwk)
    assert "M-ANOTHER-1" not in z.content.decode("latin-1")
    other = make_token(session, citizen(session))
    assert client.get(done.json()["export_url"], headers=other).status_code == 404


def test_schema_refuses_a_broken_export() -> None:
    import jsonschema
    import pytest

    with pytest.raises(jsonschema.ValidationError):
        export.validate({"format": "datatorg-privacy-export/1"})
    with pytest.raises(jsonschema.ValidationError):
        export.validate(
            {
                "format": "other",
                "generated_at": "x",
                "identities": [],
                "datasets": [],
                "consents": [],
                "receipts": [],
                "disclosures": [],
                "donations": [],
                "requests": [],
            }
        )


def test_erasure_through_a_request(
    client: TestClient, session: Session, settings: Settings
) -> None:
    _org, ds, person, subject, meter, steward = _world(session, settings)
    auth, desk = make_token(session, person), make_token(session, steward)
    rid = client.post("/api/v1/me/requests", json={"type": "erasure"}, headers=auth).json()["id"]
    for step in ({"action": "verify", "method": "BankID"}, {"action": "complete"}):
        assert (
            client.post(
                f"/api/v1/privacy/requests/{rid}/actions", json=step, headers=desk
            ).status_code
            == 200
        )
    mine = client.get(f"/api/v1/me/requests/{rid}", headers=auth).json()
    assert mine["state"] == "completed" and mine["outcome"]["rows_removed"] == 4
    assert (
        privacy.find_by_identity(
            session=session, settings=settings, kind=IdentityKind.meter_number, value=meter
        )
        is None
    )
    # the account stays; it now has a fresh, empty subject
    body = client.get("/api/v1/me/data", headers=auth).json()
    assert body["datasets"] == [] and body["identities"] == [
        {"kind": "email", "label": "E-postadresse", "value": person.email}
    ]


def test_bad_requests_are_refused(client: TestClient, session: Session, settings: Settings) -> None:
    _org, _ds, person, _subject, _meter, steward = _world(session, settings)
    auth, desk = make_token(session, person), make_token(session, steward)
    for body in (
        {"type": "deletion"},
        {"type": "rectification"},
        {"type": "rectification", "dataset": "no-such", "correction": "x"},
        {"type": "objection", "dataset": "'; DROP TABLE x; --"},
        {"type": "access", "message": "x" * 5000},
        {"type": "access", "extra": 1},
    ):
        r = client.post("/api/v1/me/requests", json=body, headers=auth)
        assert r.status_code in (404, 422), (body, r.text)
    rid = client.post("/api/v1/me/requests", json={"type": "access"}, headers=auth).json()["id"]
    assert (
        client.post("/api/v1/me/requests", json={"type": "access"}, headers=auth).status_code == 409
    )
    r = client.post(
        f"/api/v1/privacy/requests/{rid}/actions", json={"action": "explode"}, headers=desk
    )
    assert r.status_code == 422
    r = client.post(
        f"/api/v1/privacy/requests/{rid}/actions", json={"action": "reject"}, headers=desk
    )
    assert r.status_code == 422  # a reason is required
    assert (
        client.post(f"/api/v1/me/requests/{rid}/withdraw", headers=auth).json()["state"]
        == "withdrawn"
    )


def test_donation_api(client: TestClient, session: Session) -> None:
    if client.get("/api/v1/organisations/halden-kommune").status_code == 404:
        make_org(session, slug="halden-kommune")
    auth = make_token(session, citizen(session))
    files = {"file": ("forbruk.csv", b"time,kwh\n2025-01-01T00:00,1.5\n")}
    r = client.post(
        "/api/v1/me/donations",
        headers=auth,
        files=files,
        data={"kind": "meter", "purposes": ["DataAltruism", "CombatClimateChange"]},
    )
    assert r.status_code == 201, r.text
    listed = client.get("/api/v1/me/donations", headers=auth).json()
    assert listed[0]["rows"] == 1
    bad = client.post(
        "/api/v1/me/donations",
        headers=auth,
        files={"file": ("x.csv", b"time,kwh\nnow,=1\n")},
        data={"kind": "meter", "purposes": ["DataAltruism"]},
    )
    assert bad.status_code == 422
    back = client.post(f"/api/v1/me/donations/{r.json()['id']}/withdraw?erase=true", headers=auth)
    assert back.json() == {"consents_withdrawn": 2, "rows_removed": 1}
