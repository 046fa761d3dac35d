"""Shortcuts that drive the API to a given point of the journey (for tests of later steps)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from datatorg.pilots.calls import today
from datatorg.web.csrf import CSRF_COOKIE
from tests.pilots.conftest import Lab, idea_body

SCORES = {
    "impact": 4,
    "feasibility": 4,
    "sustainability": 3,
    "citizen_involvement": 3,
    "data_availability": 5,
    "privacy_risk": 5,
}


def ok(r: Any, status: int = 200) -> dict[str, Any]:
    assert r.status_code == status, r.text
    out: dict[str, Any] = r.json()
    return out


def submitted(client: TestClient, lab: Lab, **kw: Any) -> dict[str, Any]:
    return ok(client.post("/api/v1/ideas", json=idea_body(**kw), headers=lab.h["citizen"]), 201)


def evaluating(client: TestClient, lab: Lab, **kw: Any) -> dict[str, Any]:
    idea = submitted(client, lab, **kw)
    h = lab.h["coordinator"]
    ok(client.post(f"/api/v1/ideas/{idea['id']}/screening", headers=h))
    return ok(
        client.post(
            f"/api/v1/ideas/{idea['id']}/screening/result",
            json={"personal_data": False, "evaluator_ids": [str(lab.evaluators[0].id)]},
            headers=h,
        )
    )


def accepted(client: TestClient, lab: Lab, **kw: Any) -> dict[str, Any]:
    idea = evaluating(client, lab, **kw)
    iid = idea["id"]
    ok(
        client.post(
            f"/api/v1/ideas/{iid}/evaluations",
            json={"scores": SCORES},
            headers=lab.h["evaluator0"],
        ),
        201,
    )
    return ok(
        client.post(
            f"/api/v1/ideas/{iid}/decision",
            json={"decision": "accept", "answer": "Godtatt – vi prøver det ut."},
            headers=lab.h["coordinator"],
        )
    )


def pilot(client: TestClient, lab: Lab, **kw: Any) -> dict[str, Any]:
    idea = accepted(client, lab, **kw)
    start = today()
    return ok(
        client.post(
            "/api/v1/pilots",
            json={
                "idea_id": idea["id"],
                "lead_id": str(lab.researcher.id),
                "recruiting": True,
                "participation_text": "Du svarer på en kort undersøkelse hver måned.",
                "phases": [
                    {
                        "phase": "exploration",
                        "starts_on": (start - timedelta(days=3)).isoformat(),
                        "ends_on": (start + timedelta(days=20)).isoformat(),
                    }
                ],
            },
            headers=lab.h["coordinator"],
        ),
        201,
    )


def agreed(client: TestClient, lab: Lab, pilot_id: str) -> dict[str, Any]:
    """A data request from the pilot, approved by the steward."""
    start = today()
    req = ok(
        client.post(
            f"/api/v1/pilots/{pilot_id}/data-requests",
            json={
                "offer_id": str(lab.offer.id),
                "description": "Energibruk per måned for piloten.",
                "period_start": start.isoformat(),
                "period_end": (start + timedelta(days=90)).isoformat(),
            },
            headers=lab.h["researcher"],
        ),
        201,
    )
    ok(client.post(f"/api/v1/access-requests/{req['id']}/approve", headers=lab.h["steward"]))
    return req


def csrf(client: TestClient) -> str:
    client.get("/lab")
    return client.cookies[CSRF_COOKIE]
