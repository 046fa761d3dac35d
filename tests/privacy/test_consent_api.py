"""The consent API and page: one action to give, one to withdraw, receipts, bad input."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.privacy import service as privacy
from datatorg.privacy.models import Consent
from datatorg.settings import Settings
from datatorg.web import formatting
from tests.factories import make_org, make_token
from tests.privacy.helpers import citizen, personal_dataset


def test_give_list_withdraw_and_receipt(
    client: TestClient, session: Session, settings: Settings
) -> None:
    org = make_org(session)
    ds = personal_dataset(session, org)
    user = citizen(session)
    auth = make_token(session, user)
    r = client.post(
        "/api/v1/me/consents",
        json={"purpose": "ScientificResearch", "scope_kind": "dataset", "scope_ref": ds.slug},
        headers=auth,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["in_force"] and body["state"] == "ConsentGiven"
    assert body["purpose_label"] == "Vitenskapelig forskning" or body["purpose_label"]
    listed = client.get("/api/v1/me/consents", headers=auth).json()
    assert [c["id"] for c in listed["items"]] == [body["id"]]
    assert {n["purpose"] for n in listed["notices"]} >= {"ScientificResearch", "DataAltruism"}
    receipt = client.get(f"/api/v1/me/consents/{body['id']}/receipt", headers=auth)
    assert receipt.status_code == 200
    assert "attachment" in receipt.headers["content-disposition"]
    jwk = client.get("/api/v1/privacy/receipt-key").json()["keys"][0]
    assert privacy.verify_receipt(receipt.json(), jwk)
    w = client.post(f"/api/v1/me/consents/{body['id']}/withdraw", headers=auth)
    assert w.status_code == 200 and w.json()["state"] == "ConsentWithdrawn"
    assert [e["state"] for e in w.json()["history"]] == ["ConsentGiven", "ConsentWithdrawn"]
    # someone else cannot see, withdraw or download it
    other = make_token(session, citizen(session))
    assert (
        client.post(f"/api/v1/me/consents/{body['id']}/withdraw", headers=other).status_code == 404
    )
    assert client.get(f"/api/v1/me/consents/{body['id']}/receipt", headers=other).status_code == 404
    assert client.get("/api/v1/me/consents").status_code == 401


def test_bad_consent_input_is_refused_and_stores_nothing(
    client: TestClient, session: Session
) -> None:
    user = citizen(session)
    auth = make_token(session, user)
    bad = [
        {
            "purpose": "Scientific Research",
            "scope_kind": "category",
            "scope_ref": "ObservedPersonalData",
        },
        {
            "purpose": "ScientificResearch'; DROP TABLE privacy_consents; --",
            "scope_kind": "category",
            "scope_ref": "x",
        },
        {"purpose": "ScientificResearch", "scope_kind": "planet", "scope_ref": "x"},
        {"purpose": "ScientificResearch", "scope_kind": "dataset", "scope_ref": "../../etc/passwd"},
        {"purpose": "ScientificResearch", "scope_kind": "category", "scope_ref": "=HYPERLINK(1)"},
        {
            "purpose": "ScientificResearch",
            "scope_kind": "category",
            "scope_ref": "ObservedPersonalData",
            "expires_at": "2020-01-01T00:00:00Z",
        },
        {
            "purpose": "ScientificResearch",
            "scope_kind": "category",
            "scope_ref": "ObservedPersonalData",
            "expires_at": "2099-01-01T00:00:00",
        },
        {
            "purpose": "ScientificResearch",
            "scope_kind": "category",
            "scope_ref": "ObservedPersonalData",
            "extra": 1,
        },
        {"purpose": "Advertising", "scope_kind": "category", "scope_ref": "ObservedPersonalData"},
        {"purpose": "x" * 5000, "scope_kind": "category", "scope_ref": "ObservedPersonalData"},
    ]
    for body in bad:
        r = client.post("/api/v1/me/consents", json=body, headers=auth)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    latin1 = '{"purpose": "ScientificResearch", "scope_kind": "category", "scope_ref": "bl\xe5"}'
    r = client.post(
        "/api/v1/me/consents",
        content=latin1.encode("latin-1"),
        headers={**auth, "content-type": "application/json"},
    )
    assert r.status_code in (400, 422)
    r = client.post(
        "/api/v1/me/consents",
        content=b"[" * 100_000,
        headers={**auth, "content-type": "application/json"},
    )
    assert r.status_code in (400, 413, 422)
    # the route's permission (perm.own) looks the consent up first: no such consent (404)
    assert client.post("/api/v1/me/consents/not-a-uuid/withdraw", headers=auth).status_code == 404
    another = client.post(f"/api/v1/me/consents/{uuid.uuid4()}/withdraw", headers=auth)
    assert another.status_code == 404
    subject = privacy.subject_for_user(
        session=session, settings=client.app.state.settings, user=user
    )  # type: ignore[attr-defined]
    assert session.scalars(select(Consent).where(Consent.subject_id == subject.id)).all() == []


def test_agreement_tokens_cannot_act_for_a_person(client: TestClient, session: Session) -> None:
    import uuid

    user = citizen(session)
    auth = make_token(session, user, agreement_id=uuid.uuid4())
    assert client.get("/api/v1/me/consents", headers=auth).status_code == 403


def test_declarations_are_for_publishers(client: TestClient, session: Session) -> None:
    from datatorg.identity.models import Role
    from tests.factories import make_user

    org = make_org(session)
    ds = personal_dataset(session, org)
    publisher = make_token(session, make_user(session, org=org, roles=(Role.publisher,)))
    stranger = make_token(session, citizen(session))
    body = {
        "subject_column": "meter_id",
        "identity_kind": "meter_number",
        "legal_basis": "PublicInterest",
        "categories": ["ObservedPersonalData"],
    }
    assert (
        client.put(f"/api/v1/datasets/{ds.slug}/privacy", json=body, headers=stranger).status_code
        == 403
    )
    r = client.put(f"/api/v1/datasets/{ds.slug}/privacy", json=body, headers=publisher)
    assert r.status_code == 200 and r.json()["legal_basis"] == "PublicInterest"
    assert client.get(f"/api/v1/datasets/{ds.slug}/privacy").json()["subject_column"] == "meter_id"
    for bad in (
        {**body, "legal_basis": "Whim"},
        {**body, "categories": ["Bogus"]},
        {**body, "identity_kind": "dna"},
    ):
        assert (
            client.put(
                f"/api/v1/datasets/{ds.slug}/privacy", json=bad, headers=publisher
            ).status_code
            == 422
        )


def test_consent_page_gives_and_withdraws_with_one_button(
    client: TestClient, session: Session
) -> None:
    import re

    user = citizen(session)
    auth = make_token(session, user)
    assert client.get("/my/consents", follow_redirects=False).status_code == 303
    page = client.get("/my/consents", headers=auth)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    token = client.cookies.get("datatorg_csrf")
    r = client.post(
        "/my/consents",
        data={
            "csrf_token": token,
            "purpose": "AcademicResearch",
            "scope": "category:ObservedPersonalData",
        },
        headers=auth,
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get("/my/consents", headers=auth).text
    assert "Samtykke gitt" in page and "ConsentGiven" not in page
    action = re.search(r'action="(/my/consents/[0-9a-f-]+/withdraw)"', page)
    assert action is not None
    r = client.post(
        action.group(1), data={"csrf_token": token}, headers=auth, follow_redirects=False
    )
    assert r.status_code == 303
    page = client.get("/my/consents", headers=auth).text
    assert "Samtykke trukket tilbake" in page
    # a withdrawn consent is listed apart, with when it was withdrawn in place of an expiry
    given, _, withdrawn = page.partition("<h2>Samtykker du har trukket tilbake</h2>")
    assert "Ingen av samtykkene dine gjelder nå." in given and "Samtykke gitt" not in given
    assert "Aldri, før du trekker det tilbake" not in withdrawn and "Utløper" not in withdrawn
    ended = re.search(r"<dt>Trukket tilbake</dt><dd><time datetime=\"([^\"]+)\">([^<]+)<", page)
    assert ended is not None
    assert ended.group(2) == formatting.moment(datetime.fromisoformat(ended.group(1)), "nb")
    bad = client.post(
        "/my/consents",
        data={
            "csrf_token": token,
            "purpose": "AcademicResearch",
            "scope": "category:ObservedPersonalData",
            "expires_on": "31.12.2027",
        },
        headers=auth,
    )
    assert bad.status_code == 422 and "2027-12-31" in bad.text
    forged = client.post("/my/consents", data={"purpose": "AcademicResearch"}, headers=auth)
    assert forged.status_code == 403


def test_a_consent_ends_at_the_end_of_the_chosen_day_in_halden(
    client: TestClient, session: Session
) -> None:
    """Times are shown in Oslo time: an end date chosen on the page is the end of that day
    there, not 23:59 UTC (which is 01:59 the next day in summer)."""
    auth = make_token(session, citizen(session))
    client.get("/my/consents", headers=auth)
    r = client.post(
        "/my/consents",
        data={
            "csrf_token": client.cookies.get("datatorg_csrf"),
            "purpose": "AcademicResearch",
            "scope": "category:ObservedPersonalData",
            "expires_on": "2030-06-30",
        },
        headers=auth,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = client.get("/my/consents", headers=auth).text
    assert "30. juni 2030 23:59" in page
