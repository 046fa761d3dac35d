"""Taking part in a pilot is privacy's consent: joining gives a consent scoped to the one
pilot for its purpose, leaving withdraws it, and a withdrawal on My data ends the
participation too."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.pilots.models import Participant
from tests.pilots import helpers
from tests.pilots.conftest import Lab


def _pilot_consents(client: TestClient, lab: Lab, pilot_id: str) -> list[dict[str, Any]]:
    page = helpers.ok(client.get("/api/v1/me/consents", headers=lab.h["citizen"]))
    return [c for c in page["items"] if c["scope_kind"] == "pilot" and c["scope_ref"] == pilot_id]


def _shown(client: TestClient, lab: Lab, pilot_id: str) -> tuple[int, bool]:
    p = helpers.ok(client.get(f"/api/v1/pilots/{pilot_id}", headers=lab.h["citizen"]))
    return p["participants"], p["joined"]


def test_join_gives_the_pilot_consent_and_leave_withdraws_it(
    client: TestClient, session: Session, lab: Lab
) -> None:
    p = helpers.pilot(client, lab)
    pid, url = p["id"], f"/api/v1/pilots/{p['id']}/participation"
    assert _shown(client, lab, pid) == (0, False)
    assert _pilot_consents(client, lab, pid) == []

    helpers.ok(client.post(url, headers=lab.h["citizen"]), 201)
    [consent] = _pilot_consents(client, lab, pid)
    assert consent["purpose"] == "ImprovePublicServices" and consent["in_force"] is True
    assert consent["scope_label"].endswith(p["title"])  # "Pilot: <title>" on My consents
    row = session.get(Participant, (uuid.UUID(pid), lab.citizen.id))
    assert row is not None and row.consent_ref == consent["id"]
    assert _shown(client, lab, pid) == (1, True)
    assert client.post(url, headers=lab.h["citizen"]).status_code == 409  # once is enough

    # leaving withdraws the consent at once; joining again renews the same record
    helpers.ok(client.delete(url, headers=lab.h["citizen"]))
    [consent] = _pilot_consents(client, lab, pid)
    assert consent["in_force"] is False and consent["state"] == "ConsentWithdrawn"
    assert _shown(client, lab, pid) == (0, False)
    assert client.delete(url, headers=lab.h["citizen"]).status_code == 409
    helpers.ok(client.post(url, headers=lab.h["citizen"]), 201)
    [again] = _pilot_consents(client, lab, pid)
    assert again["id"] == consent["id"] and again["in_force"] is True
    assert _shown(client, lab, pid) == (1, True)

    # withdrawn on My data: the pilot no longer counts the citizen, who may join again
    helpers.ok(client.post(f"/api/v1/me/consents/{again['id']}/withdraw", headers=lab.h["citizen"]))
    assert _shown(client, lab, pid) == (0, False)
    assert client.delete(url, headers=lab.h["citizen"]).status_code == 409
    helpers.ok(client.post(url, headers=lab.h["citizen"]), 201)
    assert _shown(client, lab, pid) == (1, True)


def test_two_pilots_with_one_purpose_are_two_consents(client: TestClient, lab: Lab) -> None:
    """Leaving one pilot does not end the consent given to another for the same purpose."""
    first, second = helpers.pilot(client, lab), helpers.pilot(client, lab, title="Lys i gatene")
    for p in (first, second):
        helpers.ok(
            client.post(f"/api/v1/pilots/{p['id']}/participation", headers=lab.h["citizen"]), 201
        )
    helpers.ok(
        client.delete(f"/api/v1/pilots/{first['id']}/participation", headers=lab.h["citizen"])
    )
    assert _shown(client, lab, first["id"]) == (0, False)
    assert _shown(client, lab, second["id"]) == (1, True)
    [kept] = _pilot_consents(client, lab, second["id"])
    assert kept["in_force"] is True


def test_who_may_join(client: TestClient, lab: Lab) -> None:
    p = helpers.pilot(client, lab)
    url = f"/api/v1/pilots/{p['id']}/participation"
    assert client.post(url).status_code == 401  # anonymous
    # a pilot that is not recruiting takes nobody, and says so
    helpers.ok(
        client.patch(
            f"/api/v1/pilots/{p['id']}", json={"recruiting": False}, headers=lab.h["coordinator"]
        )
    )
    r = client.post(url, headers=lab.h["citizen"])
    assert r.status_code == 409 and _shown(client, lab, p["id"]) == (0, False)
    assert _pilot_consents(client, lab, p["id"]) == []
