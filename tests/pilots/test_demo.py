"""The living lab's demo: an open call, ideas in every state, two running pilots whose KPIs
are computed through the gate from the demo datasets (checked against DuckDB directly), and
a completed pilot with its result."""

from __future__ import annotations

import duckdb
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datatorg.demo import pilots_pilots, world
from datatorg.demo.contents import CONTENTS
from datatorg.pilots.models import Call, Idea, Kpi, Pilot, PilotState
from datatorg.settings import Settings


def direct(sql: str, value: str, where: str) -> dict[str, float]:
    """A demo KPI computed straight from the demo generator's SQL, without the platform."""
    con = duckdb.connect()
    try:
        rows = con.execute(
            f"SELECT CAST(date_trunc('month', {where.split('|')[0]}) AS DATE), {value} "
            f"FROM ({sql}) WHERE {where.split('|')[1]} GROUP BY 1 ORDER BY 1"
        ).fetchall()
    finally:
        con.close()
    return {d.isoformat(): round(float(v), 6) for d, v in rows}


def test_the_demo_living_lab(client: TestClient, session: Session, settings: Settings) -> None:
    world.load(session=session, settings=settings, small=True)
    world.load(session=session, settings=settings, small=True)  # idempotent
    assert session.scalar(select(func.count()).select_from(Call)) == 1
    states = {s.value for s in session.scalars(select(Idea.state))}
    assert states == {"submitted", "screening", "evaluating", "accepted", "rejected", "withdrawn"}
    running = session.scalars(select(Pilot).where(Pilot.state == PilotState.running)).all()
    assert sorted(p.title for p in running) == [
        "Energistyring i kommunale bygg",
        "Sensorbasert avfallstømming i Tistedal",
    ]

    # every dataset KPI of the running pilots is computed through the gate, and equals the
    # same aggregate computed directly from the demo data
    expected = {
        pilots_pilots.ENERGY_KPI: direct(
            CONTENTS[pilots_pilots.ENERGY].sql(small=True),
            "sum(kwh)",
            "dato|bygningstype = 'Skole'",
        ),
        pilots_pilots.WASTE_KPI: direct(
            CONTENTS[pilots_pilots.WASTE].sql(small=True),
            "sum(tonn)",
            "maaned|fraksjon = 'Restavfall'",
        ),
    }
    for pilot in running:
        body = client.get(f"/api/v1/pilots/{pilot.id}").json()
        computed = [k for k in body["kpis"] if k["source"]["code"] == "dataset"]
        assert computed, pilot.title
        for k in computed:
            assert k["last_ok"] is True, k["last_error"]
            got = {v["period"]: v["value"] for v in k["values"]}
            assert got == expected[k["query"]] and got
    energy = next(p for p in running if p.title.startswith("Energi"))
    shown = client.get(f"/api/v1/pilots/{energy.id}").json()
    assert shown["data_requests"][0]["agreement"]["state"]["code"] == "active"
    assert shown["participants"] == 1 and shown["phase"]["code"] == "experimentation"

    done = session.scalars(select(Pilot).where(Pilot.state == PilotState.completed)).one()
    body = client.get(f"/api/v1/pilots/{done.id}").json()
    assert body["result"]["outcome"]["code"] == "scale" and body["reports"]
    # the scheduled run finds the daily and weekly KPIs not yet due (they just ran)
    assert session.scalar(select(func.count()).select_from(Kpi).where(Kpi.last_ok.is_(True))) == 2

    lab = client.get("/lab", headers={"Accept-Language": "nb"}).text
    assert "Smartere tjenester i Halden 2027" in lab and "Energistyring" in lab
    portfolio = client.get("/api/v1/portfolio").json()
    assert portfolio["status_counts"]["running"] == 2
    assert portfolio["status_counts"]["completed"] == 1
