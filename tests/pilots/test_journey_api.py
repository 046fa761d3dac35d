"""The whole living-lab journey through the JSON API: idea → support → screening →
evaluation → pilot → data request → KPI computed through the gate → result.

The KPI's values are checked against the same aggregate computed directly with DuckDB over
the uploaded file.
"""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO

import duckdb
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.audit import service as audit
from datatorg.audit.models import AuditEvent
from datatorg.pilots.calls import today
from tests.pilots.conftest import Lab, call_body, energy_csv, idea_body, upload

SCORES = {
    "impact": 5,
    "feasibility": 4,
    "sustainability": 4,
    "citizen_involvement": 3,
    "data_availability": 5,
    "privacy_risk": 5,
}


def direct_monthly_sum(category: str) -> dict[str, float]:
    """The KPI's aggregate computed without the platform: DuckDB over the CSV itself."""
    con = duckdb.connect()
    try:
        con.execute("CREATE TABLE t AS SELECT * FROM read_csv_auto(?)", [_csv_path()])
        rows = con.execute(
            "SELECT date_trunc('month', date) AS m, sum(kwh) FROM t WHERE category = ? "
            "GROUP BY 1 ORDER BY 1",
            [category],
        ).fetchall()
    finally:
        con.close()
    return {str(m)[:10]: round(float(v), 6) for m, v in rows}


def _csv_path() -> str:
    import tempfile

    f = tempfile.NamedTemporaryFile(suffix=".csv", delete=False)
    f.write(energy_csv())
    f.close()
    return f.name


def test_idea_to_result_through_the_api(client: TestClient, session: Session, lab: Lab) -> None:
    h = lab.h
    upload(client, lab)
    call = client.post("/api/v1/calls", json=call_body(), headers=h["coordinator"])
    assert call.status_code == 201, call.text
    assert call.json()["state"]["label"] in ("Open for ideas", "Åpen for idéer")

    # a citizen submits an idea to the call, asking for the energy dataset
    body = idea_body(call_id=call.json()["id"], datasets=[lab.dataset.slug])
    r = client.post("/api/v1/ideas", json=body, headers=h["citizen"])
    assert r.status_code == 201, r.text
    idea = r.json()
    iid = idea["id"]
    assert idea["state"]["code"] == "submitted" and idea["support_threshold"] == 2
    assert [d["slug"] for d in idea["datasets"]] == [lab.dataset.slug]
    assert [s["code"] for s in idea["sdgs"]] == ["7", "11", "13"]

    # not enough support yet: screening is refused with the numbers
    r = client.post(f"/api/v1/ideas/{iid}/screening", headers=h["coordinator"])
    assert r.status_code == 409 and r.json()["needed"] == 2
    # the submitter cannot support their own idea; others once each
    assert client.post(f"/api/v1/ideas/{iid}/support", headers=h["citizen"]).status_code == 403
    for name in ("supporter0", "supporter1"):
        r = client.post(f"/api/v1/ideas/{iid}/support", headers=h[name])
        assert r.status_code == 200, r.text
    assert client.post(f"/api/v1/ideas/{iid}/support", headers=h["supporter0"]).status_code == 409
    assert r.json()["support_count"] == 2 and r.json()["supported_by_me"] is True

    # screening: the privacy check and two evaluators
    assert (
        client.post(f"/api/v1/ideas/{iid}/screening", headers=h["coordinator"]).status_code == 200
    )
    r = client.post(
        f"/api/v1/ideas/{iid}/screening/result",
        json={
            "personal_data": False,
            "note": "Aggregerte energidata holder.",
            "evaluator_ids": [str(u.id) for u in lab.evaluators],
        },
        headers=h["coordinator"],
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"]["code"] == "evaluating" and r.json()["dpia_required"] is False

    # evaluators score the weighted criteria; the weighted score follows the call's weights
    for i in range(2):
        scores = dict(SCORES, impact=5 - i)
        r = client.post(
            f"/api/v1/ideas/{iid}/evaluations",
            json={"scores": scores, "notes": {"impact": "Stor effekt"}, "comment": "Bra."},
            headers=h[f"evaluator{i}"],
        )
        assert r.status_code == 201, r.text
    expected = (25 * 5 + 20 * 4 + 15 * 4 + 15 * 3 + 15 * 5 + 10 * 5) / 100
    assert r.json()["weighted"] == round(expected - 0.25, 2)  # impact 4 for the second

    r = client.post(
        f"/api/v1/ideas/{iid}/decision",
        json={"decision": "accept", "answer": "Idéen er godtatt som pilot. Gratulerer!"},
        headers=h["coordinator"],
    )
    assert r.status_code == 200, r.text
    accepted = r.json()
    assert accepted["state"]["code"] == "accepted" and accepted["answer"].startswith("Idéen")
    assert accepted["evaluation"]["evaluations"] == 2
    assert accepted["evaluation"]["weighted"] == round(expected - 0.125, 2)
    # the public sees the answer and the published summary, without logging in
    public = client.get(f"/api/v1/ideas/{iid}").json()
    assert public["answer"] == accepted["answer"] and public["evaluation"]["evaluations"] == 2

    # a pilot, led by the researcher, with the first phase running now
    start = today()
    r = client.post(
        "/api/v1/pilots",
        json={
            "idea_id": iid,
            "purpose": "ImprovePublicServices",
            "lead_id": str(lab.researcher.id),
            "phases": [
                {
                    "phase": "exploration",
                    "starts_on": (start - timedelta(days=1)).isoformat(),
                    "ends_on": (start + timedelta(days=30)).isoformat(),
                }
            ],
        },
        headers=h["coordinator"],
    )
    assert r.status_code == 201, r.text
    pilot = r.json()
    pid = pilot["id"]
    assert pilot["phase"]["code"] == "exploration" and pilot["team"][0]["name"]

    # the pilot asks for data through the marketplace, with its purpose
    r = client.post(
        f"/api/v1/pilots/{pid}/data-requests",
        json={
            "offer_id": str(lab.offer.id),
            "description": "Månedlig energibruk i skolebygg for piloten.",
            "period_start": start.isoformat(),
            "period_end": (start + timedelta(days=180)).isoformat(),
        },
        headers=h["researcher"],
    )
    assert r.status_code == 201, r.text
    req = r.json()
    assert req["purpose"] == "ImprovePublicServices" and req["pilot_ref"] == f"/pilots/{pid}"

    # a KPI computed from the dataset: without an agreement the gate refuses, and says so
    kpi_body = {
        "name": "Energibruk i skolene",
        "unit": "kWh",
        "baseline": 4000,
        "target": 3200,
        "direction": "decrease",
        "sdg": 7,
        "source": "dataset",
        "dataset": lab.dataset.slug,
        "query": "_agg=sum(kwh)&_bucket=month&category=skole",
        "schedule": "daily",
    }
    r = client.post(f"/api/v1/pilots/{pid}/kpis", json=kpi_body, headers=h["researcher"])
    assert r.status_code == 201, r.text
    kpi = r.json()
    assert kpi["last_ok"] is False and kpi["values"] == []
    assert kpi["last_error"] == (
        "Porten avviste lesingen: ingen gjeldende avtale dekker den for denne piloten."
    )

    # the steward approves; the agreement shows on the pilot page
    r = client.post(f"/api/v1/access-requests/{req['id']}/approve", headers=h["steward"])
    assert r.status_code == 200, r.text
    shown = client.get(f"/api/v1/pilots/{pid}").json()["data_requests"]
    assert shown[0]["agreement"]["state"]["code"] == "active"

    # computed again now: through the gate, under the pilot's agreement
    before = audit.count(session=session, action="data.read", target_id=str(lab.dataset.id))
    r = client.post(f"/api/v1/pilots/{pid}/kpis/{kpi['id']}/compute", headers=h["researcher"])
    assert r.status_code == 200, r.text
    kpi = r.json()
    assert kpi["last_ok"] is True, kpi["last_error"]
    got = {v["period"]: v["value"] for v in kpi["values"]}
    assert got == direct_monthly_sum("skole") and len(got) == 12
    assert audit.count(session=session, action="data.read", target_id=str(lab.dataset.id)) == (
        before + 1
    )
    read = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "data.read", AuditEvent.target_id == str(lab.dataset.id))
        .order_by(AuditEvent.seq.desc())
    ).first()
    assert read is not None and read.actor_id == lab.researcher.id
    assert read.details["channel"] == "kpi" and read.details["basis"] == "agreement"
    assert read.details["purpose"] == "ImprovePublicServices"  # the pilot's, stated by the KPI
    assert kpi["latest"]["period"] == "2025-12-01"

    # a hand-entered KPI too
    r = client.post(
        f"/api/v1/pilots/{pid}/kpis",
        json={"name": "Elever med", "unit": "elever", "direction": "increase", "target": 300},
        headers=h["researcher"],
    )
    manual = r.json()
    r = client.post(
        f"/api/v1/pilots/{pid}/kpis/{manual['id']}/values",
        json={"period": start.isoformat(), "value": 120, "note": "Første måling"},
        headers=h["researcher"],
    )
    assert r.status_code == 201, r.text

    # the result: a final evaluation with lessons, and a report
    pdf = b"%PDF-1.4\n% sluttrapport\n"
    r = client.post(
        f"/api/v1/pilots/{pid}/reports",
        files={"file": ("Sluttrapport æøå.pdf", BytesIO(pdf), "application/pdf")},
        data={"title": "Sluttrapport"},
        headers=h["researcher"],
    )
    assert r.status_code == 201, r.text
    r = client.post(
        f"/api/v1/pilots/{pid}/result",
        json={
            "outcome": "scale",
            "summary": "Energibruken gikk ned i alle skolene; vi skalerer.",
            "lessons": "Timeplanstyring virker.",
        },
        headers=h["coordinator"],
    )
    assert r.status_code == 201, r.text
    done = r.json()
    assert done["state"]["code"] == "completed" and done["result"]["outcome"]["code"] == "scale"
    assert done["reports"][0]["filename"] == "Sluttrapport æøå.pdf"
    events = [t["title"] for t in done["timeline"]]
    assert any("Sluttrapport" in e for e in events) and len(events) >= 4

    # and the portfolio shows it as a completed pilot in its domain and goal
    r = client.get("/api/v1/portfolio?status=completed&domain=energy&sdg=7")
    assert [i["title"] for i in r.json()["items"]] == [done["title"]]
