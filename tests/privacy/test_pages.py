"""The citizen's and the steward's pages (server side): words not codes, forms that store
nothing on bad input, CSRF, no caching."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.identity import service as identity
from datatorg.identity.models import Role
from datatorg.privacy import service as privacy
from datatorg.privacy.models import IdentityKind
from datatorg.settings import Settings
from tests.factories import make_org, make_token
from tests.privacy.helpers import citizen, meter_csv, personal_dataset, upload_csv

CODES = ("ConsentGiven", "received", "verified", "meter_number", "RequestType", "rectification")


def _csrf(client: TestClient, auth: dict[str, str], path: str) -> str:
    client.get(path, headers=auth)
    token = client.cookies.get("datatorg_csrf")
    assert token
    return token


def test_my_data_page(client: TestClient, session: Session, settings: Settings) -> None:
    org = make_org(session)
    ds = personal_dataset(session, org)
    person = citizen(session)
    upload_csv(session, settings, ds, meter_csv(["M-PAGE-1"], hours=2))
    subject = privacy.find_by_identity(
        session=session, settings=settings, kind=IdentityKind.meter_number, value="M-PAGE-1"
    )
    assert subject is not None
    subject.user_id = person.id
    auth = make_token(session, person)
    assert (
        client.get("/my/data", follow_redirects=False).headers["location"] == "/login?next=/my/data"
    )
    page = client.get("/my/data", headers=auth)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert ds.title_nb in page.text and "Målernummer" in page.text and "M-PAGE-1" in page.text
    assert subject.subject_key not in page.text
    en = client.get("/my/data", headers={**auth, "accept-language": "en"})
    assert "Meter number" in en.text


def test_request_pages_for_citizen_and_steward(
    client: TestClient, session: Session, settings: Settings
) -> None:
    org = make_org(session)
    personal_dataset(session, org)
    person, steward = citizen(session), citizen(session)
    identity.add_membership(session=session, user=steward, organisation=org, role=Role.steward)
    auth, desk = make_token(session, person), make_token(session, steward)
    token = _csrf(client, auth, "/my/requests")
    bad = client.post(
        "/my/requests", headers=auth, data={"csrf_token": token, "type": "rectification"}
    )
    assert bad.status_code == 422 and "Oppgi datasettet" in bad.text
    bad = client.post(
        "/my/requests", headers=auth, data={"csrf_token": token, "type": "nonsense'--"}
    )
    assert bad.status_code == 422 and "Velg hva du ber om" in bad.text
    assert privacy.subject_for_user(session=session, settings=settings, user=person) is not None
    r = client.post(
        "/my/requests",
        headers=auth,
        data={"csrf_token": token, "type": "restriction", "message": "Stopp bruken, takk. æøå"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    url = r.headers["location"].split("?")[0]
    page = client.get(url, headers=auth).text
    assert "Mottatt, identiteten skal kontrolleres" in page
    assert not any(f">{c}<" in page for c in CODES)
    rid = url.rsplit("/", 1)[1]
    queue = client.get("/privacy/requests", headers=desk)
    assert queue.status_code == 200 and f"/privacy/requests/{rid}" in queue.text
    assert client.get("/privacy/requests", headers=auth).status_code == 403
    dtoken = _csrf(client, desk, f"/privacy/requests/{rid}")
    steward_page = client.get(f"/privacy/requests/{rid}", headers=desk).text
    assert "Stopp bruken, takk. æøå" in steward_page
    nomethod = client.post(
        f"/privacy/requests/{rid}/actions",
        headers=desk,
        data={"csrf_token": dtoken, "action": "verify"},
    )
    assert (
        nomethod.status_code == 422 and "Skriv hvordan identiteten ble kontrollert" in nomethod.text
    )
    for step in ({"action": "verify", "method": "BankID"}, {"action": "complete"}):
        r = client.post(
            f"/privacy/requests/{rid}/actions",
            headers=desk,
            data={"csrf_token": dtoken, **step},
            follow_redirects=False,
        )
        assert r.status_code == 303
    done = client.get(f"/privacy/requests/{rid}", headers=desk).text
    assert "Avsluttet" in done and "Opphev begrensningen" in done
    assert (
        client.post(
            f"/privacy/requests/{rid}/actions", headers=desk, data={"action": "reject"}
        ).status_code
        == 403
    )


def test_donation_page(client: TestClient, session: Session) -> None:
    if client.get("/api/v1/organisations/halden-kommune").status_code == 404:
        make_org(session, slug="halden-kommune")
    auth = make_token(session, citizen(session))
    token = _csrf(client, auth, "/my/donations")
    bad = client.post(
        "/my/donations",
        headers=auth,
        data={"csrf_token": token, "kind": "meter", "purposes": "DataAltruism"},
        files={"file": ("a.csv", b"time,kwh\n2025-01-01T00:00,abc\n")},
    )
    assert bad.status_code == 422 and "Ikke et tall" in bad.text and "rad 1" in bad.text
    ok = client.post(
        "/my/donations",
        headers=auth,
        data={"csrf_token": token, "kind": "trips", "purposes": "DataAltruism"},
        files={
            "file": (
                "t.json",
                b'[{"start":"2025-01-01T08:00","end":"2025-01-01T09:00","mode":"bus","km":12}]',
            )
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303
    page = client.get("/my/donations", headers=auth).text
    assert "Donerte turlogger" in page
    action = re.search(r'action="(/my/donations/[0-9a-f-]+/withdraw)"', page)
    assert action is not None
    r = client.post(
        action.group(1),
        headers=auth,
        data={"csrf_token": token, "erase": "1"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "tatt tilbake" in client.get("/my/donations", headers=auth).text
