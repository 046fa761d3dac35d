"""A pilot's parts through the API (issue 14 point 4): team and partner organisations, phases
with dates, resources requested and granted, a timeline of updates — and a call's period
(point 2): ideas reach a call only while it is open."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from datatorg.pilots.calls import today
from tests.pilots import helpers
from tests.pilots.conftest import Lab, call_body, idea_body


def test_team_partners_phases_resources_and_timeline(client: TestClient, lab: Lab) -> None:
    p = helpers.pilot(client, lab)
    pid, lead, coord = p["id"], lab.h["researcher"], lab.h["coordinator"]

    # the lead adds a member by e-mail and a partner organisation
    body = helpers.ok(
        client.post(
            f"/api/v1/pilots/{pid}/members",
            json={"email": lab.steward.email, "role": "Dataforvalter"},
            headers=lead,
        )
    )
    assert {(m["name"], m["role"]) for m in body["team"]} >= {
        (lab.steward.display_name, "Dataforvalter")
    }
    body = helpers.ok(
        client.post(
            f"/api/v1/pilots/{pid}/partners",
            json={"organisation": lab.school.slug, "contribution": "Klasserom og elever"},
            headers=lead,
        )
    )
    assert body["partners"] == [
        {"organisation": lab.school.name, "contribution": "Klasserom og elever"}
    ]
    # someone outside the team changes nothing
    outsider = client.post(
        f"/api/v1/pilots/{pid}/partners",
        json={"organisation": lab.city.slug},
        headers=lab.h["supporter0"],
    )
    assert outsider.status_code == 403

    # phases with dates: the one running today is the current phase
    start = today()
    body = helpers.ok(
        client.put(
            f"/api/v1/pilots/{pid}/phases",
            json={
                "phase": "co_creation",
                "starts_on": (start + timedelta(days=31)).isoformat(),
                "ends_on": (start + timedelta(days=90)).isoformat(),
                "note": "Verksteder med elevene",
            },
            headers=lead,
        )
    )
    phases = {ph["phase"]["code"]: ph for ph in body["phases"]}
    assert set(phases) == {"exploration", "co_creation"}
    assert phases["exploration"]["current"] is True and phases["co_creation"]["current"] is False
    assert phases["co_creation"]["note"] == "Verksteder med elevene"
    assert body["phase"]["code"] == "exploration"
    backwards = client.put(
        f"/api/v1/pilots/{pid}/phases",
        json={"phase": "evaluation", "starts_on": "2027-05-01", "ends_on": "2027-04-01"},
        headers=lead,
    )
    assert backwards.status_code == 422

    # resources: the team asks, a coordinator grants (the team cannot), once
    res = helpers.ok(
        client.post(
            f"/api/v1/pilots/{pid}/resources",
            json={"kind": "infrastructure", "description": "CO₂-målere i 20 klasserom"},
            headers=lead,
        ),
        201,
    )
    assert res["status"] == "requested"
    url = f"/api/v1/pilots/{pid}/resources/{res['id']}/decision"
    granted = {"status": "granted", "note": "Eiendom stiller med målerne."}
    assert client.post(url, json=granted, headers=lead).status_code == 403
    assert helpers.ok(client.post(url, json=granted, headers=coord))["status"] == "granted"
    assert client.post(url, json={"status": "declined"}, headers=coord).status_code == 409

    # a timeline update by the team
    helpers.ok(
        client.post(
            f"/api/v1/pilots/{pid}/updates",
            json={"title": "Første skole i gang", "body": "Os skole er med.", "kind": "milestone"},
            headers=lead,
        ),
        201,
    )
    shown = client.get(f"/api/v1/pilots/{pid}", headers={"Accept-Language": "nb"}).json()
    [resource] = shown["resources"]
    assert resource["status"] == {"code": "granted", "label": "Tildelt"}
    assert resource["decision_note"] == "Eiendom stiller med målerne."
    assert resource["kind"]["code"] == "infrastructure"
    titles = [t["title"] for t in shown["timeline"]]
    assert "Første skole i gang" in titles
    assert any("CO₂-målere" in t for t in titles)  # the grant is an event on the timeline
    kinds = {t["kind"]["code"] for t in shown["timeline"]}
    assert {"milestone", "event"} <= kinds

    # the pilot page shows them in words
    page = client.get(f"/pilots/{pid}", headers={"Accept-Language": "nb"}).text
    for text in (lab.school.name, "Klasserom og elever", "Verksteder med elevene",
                 "CO₂-målere i 20 klasserom", "Første skole i gang"):  # fmt: skip
        assert text in page, text


def test_ideas_reach_a_call_only_while_it_is_open(client: TestClient, lab: Lab) -> None:
    coord, citizen = lab.h["coordinator"], lab.h["citizen"]
    start = today()
    periods = {
        "closed": (start - timedelta(days=30), start - timedelta(days=1)),
        "upcoming": (start + timedelta(days=1), start + timedelta(days=30)),
        "open": (start, start),
    }
    calls = {}
    for name, (opens, closes) in periods.items():
        body = call_body(title=f"Utlysning {name}", opens_on=opens.isoformat(),
                         closes_on=closes.isoformat())  # fmt: skip
        calls[name] = helpers.ok(client.post("/api/v1/calls", json=body, headers=coord), 201)
    assert calls["closed"]["state"]["code"] == "closed"
    assert calls["upcoming"]["state"]["code"] == "upcoming"
    for name in ("closed", "upcoming"):
        r = client.post("/api/v1/ideas", json=idea_body(call_id=calls[name]["id"]), headers=citizen)
        assert r.status_code == 422, (name, r.text)
        assert "call_id" in r.text
    helpers.ok(
        client.post("/api/v1/ideas", json=idea_body(call_id=calls["open"]["id"]), headers=citizen),
        201,
    )
    # a period that ends before it begins is refused
    r = client.post(
        "/api/v1/calls",
        json=call_body(
            opens_on=start.isoformat(), closes_on=(start - timedelta(days=1)).isoformat()
        ),
        headers=coord,
    )
    assert r.status_code == 422


def test_the_portfolio_filters_by_status_domain_goal_and_submitter_kind(
    client: TestClient, lab: Lab
) -> None:
    p = helpers.pilot(client, lab, title="Energi i skolene", domain="energy", sdgs=[7])
    helpers.submitted(client, lab, title="Konserter i Fredriksten", submitter_kind="student",
                      domain="culture", sdgs=[4, 11])  # fmt: skip
    helpers.submitted(client, lab, title="Fyllingsgrad i dunkene", submitter_kind="startup",
                      domain="municipal_services", sdgs=[12])  # fmt: skip

    def titles(query: str) -> list[str]:
        body = helpers.ok(client.get(f"/api/v1/portfolio?{query}"))
        return sorted(i["title"] for i in body["items"])

    assert titles("") == sorted([p["title"], "Konserter i Fredriksten", "Fyllingsgrad i dunkene"])
    assert titles("submitter_kind=student") == ["Konserter i Fredriksten"]
    assert titles("submitter_kind=student&submitter_kind=startup") == [
        "Fyllingsgrad i dunkene",
        "Konserter i Fredriksten",
    ]
    assert titles("domain=culture") == ["Konserter i Fredriksten"]
    assert titles("sdg=12") == ["Fyllingsgrad i dunkene"]
    assert titles("status=running") == [p["title"]]  # the idea that became a pilot, once
    assert titles("status=submitted&sdg=4") == ["Konserter i Fredriksten"]
    assert titles("status=running&submitter_kind=startup") == []
    body = helpers.ok(client.get("/api/v1/portfolio?submitter_kind=citizen"))
    assert body["status_counts"]["running"] == 1 and body["items"][0]["kind"] == "pilot"
    assert client.get("/api/v1/portfolio?submitter_kind=alien").status_code == 422
    # the page shows the same, in words
    page = client.get("/portfolio?domain=culture", headers={"Accept-Language": "nb"}).text
    assert "Konserter i Fredriksten" in page and "Fyllingsgrad i dunkene" not in page
