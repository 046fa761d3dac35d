"""The living lab's demo: an open call, ideas in every state, two running pilots whose KPIs
are computed through the gate from the demo datasets (checked against DuckDB directly) — the
waste pilot's from the containers' live sensor stream, under its agreement with the sensor
vendor — and a completed pilot with its result."""

from __future__ import annotations

import duckdb
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datatorg.catalog.models import Dataset
from datatorg.demo import pilots_pilots, pilots_waste, world
from datatorg.demo.contents import CONTENTS
from datatorg.identity.service import get_user_by_email
from datatorg.lake import service as lake
from datatorg.market.models import Agreement
from datatorg.pilots.models import Call, Idea, Kpi, Pilot, PilotState
from datatorg.settings import Settings
from tests.factories import make_token
from tests.plain import english_leaks


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


def direct_bins(session: Session, settings: Settings) -> dict[str, float]:
    """The mean filling level per day, straight from the sensor stream's Parquet files (the
    folded version and the live segments readers see), without the platform's read path."""
    ds = session.scalars(select(Dataset).where(Dataset.slug == pilots_waste.BINS)).one()
    head = lake.head_files(session=session, settings=settings, dataset_id=ds.id)
    assert head is not None and head.paths
    files = ", ".join(f"'{p}'" for p in head.paths)
    con = duckdb.connect()
    try:
        rows = con.execute(
            "SELECT CAST(date_trunc('day', observedAt) AS DATE), avg(fillingLevel) "
            f"FROM read_parquet([{files}]) GROUP BY 1 ORDER BY 1"
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
        pilots_waste.WASTE_KPI: direct(
            CONTENTS[pilots_waste.WASTE].sql(small=True),
            "sum(tonn)",
            "maaned|fraksjon = 'Restavfall'",
        ),
        pilots_waste.BINS_KPI: direct_bins(session, settings),
    }
    assert len(expected[pilots_waste.BINS_KPI]) >= 1  # a day of readings: one or two days
    for pilot in running:
        body = client.get(f"/api/v1/pilots/{pilot.id}").json()
        computed = [k for k in body["kpis"] if k["source"]["code"] == "dataset"]
        assert computed, pilot.title
        for k in computed:
            assert k["last_ok"] is True, k["last_error"]
            got = {v["period"]: v["value"] for v in k["values"]}
            assert got == expected[k["query"]] and got
    waste = next(p for p in running if p.title.startswith("Sensorbasert"))
    shown = client.get(f"/api/v1/pilots/{waste.id}").json()
    assert {k["query"] for k in shown["kpis"]} >= {pilots_waste.BINS_KPI, pilots_waste.WASTE_KPI}
    [asked] = shown["data_requests"]  # the stream is not open: asked for and agreed
    assert asked["agreement"]["state"]["code"] == "active"
    _bins_rows_api(client, session, settings, expected[pilots_waste.BINS_KPI])
    energy = next(p for p in running if p.title.startswith("Energi"))
    shown = client.get(f"/api/v1/pilots/{energy.id}").json()
    assert shown["data_requests"][0]["agreement"]["state"]["code"] == "active"
    assert shown["participants"] == 1 and shown["phase"]["code"] == "experimentation"

    done = session.scalars(select(Pilot).where(Pilot.state == PilotState.completed)).one()
    body = client.get(f"/api/v1/pilots/{done.id}").json()
    assert body["result"]["outcome"]["code"] == "scale" and body["reports"]
    # the scheduled run finds the daily and weekly KPIs not yet due (they just ran)
    assert session.scalar(select(func.count()).select_from(Kpi).where(Kpi.last_ok.is_(True))) == 3

    _pages_in_plain_words(client, running)

    lab = client.get("/lab", headers={"Accept-Language": "nb"}).text
    assert "Smartere tjenester i Halden 2027" in lab and "Energistyring" in lab
    portfolio = client.get("/api/v1/portfolio").json()
    assert portfolio["status_counts"]["running"] == 2
    assert portfolio["status_counts"]["completed"] == 1


def _bins_rows_api(
    client: TestClient, session: Session, settings: Settings, expected: dict[str, float]
) -> None:
    """The live stream's rows API answers the pilot lead under the pilot's agreement with the
    same daily means, and refuses a reader without an agreement."""
    ds = session.scalars(select(Dataset).where(Dataset.slug == pilots_waste.BINS)).one()
    lead = get_user_by_email(session=session, email="utvikler@gronn-start.demo.datatorg.no")
    other = get_user_by_email(session=session, email="consumer@demo.datatorg.no")
    assert lead is not None and other is not None
    agreement = session.scalars(
        select(Agreement).where(
            Agreement.dataset_id == ds.id, Agreement.assignee_user_id == lead.id
        )
    ).one()
    url = (
        f"/api/v1/datasets/{pilots_waste.BINS}/rows?{pilots_waste.BINS_KPI}"
        f"&_purpose=ImprovePublicServices&_agreement={agreement.id}"
    )
    r = client.get(url, headers=make_token(session, lead))
    assert r.status_code == 200, r.text
    body = r.json()
    got = {
        str(row[body["columns"].index("bucket")])[:10]: round(float(row[-1]), 6)
        for row in body["rows"]
    }
    assert got == expected
    rows = client.get(
        f"/api/v1/datasets/{pilots_waste.BINS}/rows?_size=5&_sort=observedAt"
        f"&_purpose=ImprovePublicServices&_agreement={agreement.id}",
        headers=make_token(session, lead),
    ).json()
    assert len(rows["rows"]) == 5 and "fillingLevel" in rows["columns"]
    refused = client.get(
        f"/api/v1/datasets/{pilots_waste.BINS}/rows?{pilots_waste.BINS_KPI}",
        headers=make_token(session, other),
    )
    assert refused.status_code in (403, 404), refused.text
    assert "rows" not in refused.json()


def _pages_in_plain_words(client: TestClient, running: list[Pilot]) -> None:
    """The living lab's pages over the demo's own contents: no code or English label in
    bokmål, and the English pages answer in English."""
    paths = ["/lab", "/ideas", "/calls", "/pilots", "/portfolio"]
    for pilot in running:
        paths.append(f"/pilots/{pilot.id}")
        kpis = client.get(f"/api/v1/pilots/{pilot.id}").json()["kpis"]
        paths += [f"/pilots/{pilot.id}/kpis/{k['id']}" for k in kpis]
    for path in paths:
        nb = client.get(path, headers={"Accept-Language": "nb"})
        assert nb.status_code == 200, (path, nb.status_code)
        assert english_leaks(nb.text) == [], (path, english_leaks(nb.text))
        en = client.get(path, headers={"Accept-Language": "en"})
        assert en.status_code == 200 and '<html lang="en">' in en.text, path
