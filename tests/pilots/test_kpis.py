"""KPIs: the saved query's rules, computing through the gate (values, refusals, audit),
hand-entered values, the schedule, and the ``datatorg pilots kpis run`` command."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg import cli
from datatorg.audit import service as audit
from datatorg.audit.models import AuditEvent
from datatorg.db import migrate
from datatorg.db.base import utcnow
from datatorg.db.engine import make_engine, make_sessionmaker
from datatorg.errors import Invalid
from datatorg.lake import service as lake
from datatorg.lake.models import WriteMode
from datatorg.pilots import compute
from datatorg.pilots.calls import today as lab_today
from datatorg.pilots.models import Kpi, Schedule
from datatorg.settings import Settings, get_settings
from tests.conftest import TEST_SECRET
from tests.pilots import helpers
from tests.pilots.conftest import Lab, build_lab, energy_csv, upload

QUERY = "_agg=sum(kwh)&_bucket=month&category=skole"


@pytest.mark.parametrize(
    "query",
    [
        "",
        "kwh",
        "_agg=sum(kwh)&_agg=avg(kwh)",
        "_agg=sum(kwh),avg(kwh)",
        "_col=kwh&_agg=sum(kwh)",
        "_agg=sum(kwh)&_size=5",
        "_agg=sum(kwh)&_purpose=ScientificResearch",
        "_agg=sum(kwh)&_group_by=building",
        "_agg=sum(kwh)&_bucket=year",
        "_agg=sum(kwh)&_bucket=month&_bucket=day",
        "_agg=sum(kwh)&kwh;DROP TABLE x=1",
        "_agg=sum(kwh)&" + "a=1&" * 40,
        "_agg=sum(kwh)&=1",
    ],
)
def test_only_one_plain_aggregate_may_be_saved(query: str) -> None:
    with pytest.raises(Invalid) as exc:
        compute.parse_query(query)
    assert exc.value.extra["errors"][0]["field"] == "query"


def test_a_good_query_parses() -> None:
    assert compute.parse_query("?_agg=avg(kwh)&category=skole&_bucket=month:date") == [
        ("_agg", "avg(kwh)"),
        ("category", "skole"),
        ("_bucket", "month:date"),
    ]


def test_refused_reads_are_kept_as_the_last_error_and_audited(
    client: TestClient, session: Session, lab: Lab
) -> None:
    upload(client, lab)
    p = helpers.pilot(client, lab)
    body = {"name": "Energi", "direction": "decrease", "source": "dataset",
            "dataset": lab.dataset.slug, "query": QUERY}  # fmt: skip
    # a query that does not fit the dataset is refused at once, naming the query
    r = client.post(
        f"/api/v1/pilots/{p['id']}/kpis",
        json=dict(body, query="_agg=sum(nope)"),
        headers=lab.h["researcher"],
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query"
    # no agreement yet: kept, with the refusal in words, and the gate recorded the refusal
    denied = audit.count(session=session, action="data.read", target_id=str(lab.dataset.id))
    kpi = helpers.ok(
        client.post(f"/api/v1/pilots/{p['id']}/kpis", json=body, headers=lab.h["researcher"]), 201
    )
    assert kpi["last_ok"] is False and "avtale" in kpi["last_error"]
    assert audit.count(session=session, action="data.read", target_id=str(lab.dataset.id)) == (
        denied + 1
    )
    # someone outside the team cannot add KPIs or values, or run them
    r = client.post(f"/api/v1/pilots/{p['id']}/kpis", json=body, headers=lab.h["supporter0"])
    assert r.status_code == 403
    r = client.post(
        f"/api/v1/pilots/{p['id']}/kpis/{kpi['id']}/compute", headers=lab.h["supporter0"]
    )
    assert r.status_code == 403
    # values of a computed KPI are not typed in by hand
    r = client.post(
        f"/api/v1/pilots/{p['id']}/kpis/{kpi['id']}/values",
        json={"period": "2026-01-01", "value": 1},
        headers=lab.h["researcher"],
    )
    assert r.status_code == 422
    # with the agreement, the scheduled run computes it
    helpers.agreed(client, lab, p["id"])
    row = session.get(Kpi, uuid.UUID(kpi["id"]))
    assert row is not None
    row.schedule = Schedule.daily
    row.last_run_at = utcnow() - timedelta(days=2)  # it ran (and was refused) when added
    session.flush()
    ran = compute.run_due(session=session, settings=client.app.state.settings)  # type: ignore[attr-defined]
    assert [k.id for k in ran] == [row.id] and row.last_ok is True
    assert compute.due(session=session) == []  # not again within the day
    later = utcnow() + timedelta(hours=23, minutes=30)
    assert [k.id for k in compute.due(session=session, now=later)] == [row.id]
    # the agreement is revoked: the next run fails, the values stay, the error says why
    agreement = client.get(f"/api/v1/pilots/{p['id']}").json()["data_requests"][0]["agreement"]
    helpers.ok(
        client.post(
            f"/api/v1/agreements/{agreement['id']}/revoke",
            json={"reason": "Slutt."},
            headers=lab.h["steward"],
        )
    )
    kpi = helpers.ok(
        client.post(
            f"/api/v1/pilots/{p['id']}/kpis/{kpi['id']}/compute", headers=lab.h["researcher"]
        )
    )
    assert kpi["last_ok"] is False and len(kpi["values"]) == 12


def test_a_kpi_reads_only_for_its_pilots_purpose(client: TestClient, lab: Lab) -> None:
    """An agreement the KPI's owner holds for another purpose does not serve the pilot's
    KPI: the read states the pilot's purpose and the gate holds the agreement to it."""
    upload(client, lab)
    p = helpers.pilot(client, lab)
    start = lab_today()
    own = helpers.ok(
        client.post(
            "/api/v1/access-requests",
            json={"offer_id": str(lab.offer.id), "purpose": "AcademicResearch",
                  "description": "Min egen forskning på energibruk.",
                  "period_start": start.isoformat(),
                  "period_end": (start + timedelta(days=30)).isoformat()},
            headers=lab.h["researcher"],
        ),
        201,
    )  # fmt: skip
    approve = f"/api/v1/access-requests/{own['id']}/approve"
    helpers.ok(client.post(approve, headers=lab.h["steward"]))
    body = {"name": "Energi", "direction": "decrease", "source": "dataset",
            "dataset": lab.dataset.slug, "query": QUERY}  # fmt: skip
    kpi = helpers.ok(
        client.post(f"/api/v1/pilots/{p['id']}/kpis", json=body, headers=lab.h["researcher"]), 201
    )
    assert kpi["last_ok"] is False and kpi["values"] == []
    helpers.agreed(client, lab, p["id"])  # the pilot's own agreement
    kpi = helpers.ok(
        client.post(
            f"/api/v1/pilots/{p['id']}/kpis/{kpi['id']}/compute", headers=lab.h["researcher"]
        )
    )
    assert kpi["last_ok"] is True and len(kpi["values"]) == 12


def test_hand_entered_values_and_progress(client: TestClient, lab: Lab) -> None:
    p = helpers.pilot(client, lab)
    kpi = helpers.ok(
        client.post(
            f"/api/v1/pilots/{p['id']}/kpis",
            json={"name": "Deltakere", "direction": "increase", "baseline": 10, "target": 110},
            headers=lab.h["researcher"],
        ),
        201,
    )
    url = f"/api/v1/pilots/{p['id']}/kpis/{kpi['id']}/values"
    for period, value in (("2026-01-01", 20), ("2026-02-01", 60), ("2026-02-01", 35)):
        helpers.ok(
            client.post(url, json={"period": period, "value": value}, headers=lab.h["researcher"]),
            201,
        )
    got = helpers.ok(client.get(f"/api/v1/pilots/{p['id']}/kpis/{kpi['id']}"))
    assert [(v["period"], v["value"]) for v in got["values"]] == [
        ("2026-01-01", 20.0),
        ("2026-02-01", 35.0),  # the same day again replaces
    ]
    assert got["progress"] == 0.25 and got["latest"]["value"] == 35.0
    for bad in (
        '{"period": "2026-13-01", "value": 1}',
        '{"period": "2026-01-01", "value": "NaN"}',
        '{"period": "2026-01-01", "value": 1e309}',
        '{"period": "2026-01-01"}',
        '{"period": "2026-01-01", "value": 1, "extra": true}',
    ):
        r = client.post(
            url, content=bad, headers={**lab.h["researcher"], "Content-Type": "application/json"}
        )
        assert r.status_code == 422, bad


def test_the_cron_command_computes_due_kpis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``datatorg pilots kpis run`` against a database of its own (committed data)."""
    url = f"sqlite:///{tmp_path / 'cron.sqlite3'}"
    make_engine(url).dispose()
    migrate.upgrade(url)
    settings = Settings(env="test", database_url=url, lake_path=tmp_path / "lake",
                        secret_key=TEST_SECRET, mail_enabled=False)  # type: ignore[arg-type]  # fmt: skip
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        lab = build_lab(session)
        source = lake.new_staging(settings) / "source"
        source.write_bytes(energy_csv())
        lake.ingest_file(
            session=session,
            settings=settings,
            dataset=lab.dataset,
            source=source,
            filename="energi.csv",
            mode=WriteMode.replace,
            uploaded_by=None,
        )
        from datatorg.app import create_app

        app = create_app(settings)
        with TestClient(app, base_url="https://testserver") as client:
            session.commit()
            p = helpers.pilot(client, lab)
            helpers.agreed(client, lab, p["id"])
            kpi = helpers.ok(
                client.post(
                    f"/api/v1/pilots/{p['id']}/kpis",
                    json={"name": "Energi", "direction": "decrease", "source": "dataset",
                          "dataset": lab.dataset.slug, "query": QUERY, "schedule": "weekly"},
                    headers=lab.h["researcher"],
                ),
                201,
            )  # fmt: skip
        app.state.engine.dispose()
        row = session.get(Kpi, uuid.UUID(kpi["id"]))
        assert row is not None
        row.last_run_at = utcnow() - timedelta(days=8)
        session.commit()
    monkeypatch.setenv("DATATORG_DATABASE_URL", url)
    monkeypatch.setenv("DATATORG_LAKE_PATH", str(tmp_path / "lake"))
    monkeypatch.setenv("DATATORG_ENV", "test")
    monkeypatch.setenv("DATATORG_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("DATATORG_LOG_JSON", "false")
    get_settings.cache_clear()
    try:
        r = CliRunner().invoke(cli.main, ["pilots", "kpis", "run"])
        assert r.exit_code == 0, r.output
        assert "1 KPIs computed, 0 failed" in r.output
        r = CliRunner().invoke(cli.main, ["pilots", "kpis", "run"])
        assert "0 KPIs computed" in r.output  # not due again
        r = CliRunner().invoke(cli.main, ["pilots", "kpis", "run", "--kpi", kpi["id"]])
        assert r.exit_code == 0 and "12 values (ok)" in r.output, r.output
        r = CliRunner().invoke(cli.main, ["pilots", "kpis", "run", "--kpi", "not-an-id"])
        assert r.exit_code != 0 and "No such KPI" in r.output
    finally:
        get_settings.cache_clear()
    with make_sessionmaker(engine)() as session:
        row = session.scalars(select(Kpi)).one()
        assert row.last_ok is True and row.last_run_at is not None
    engine.dispose()


def test_a_kpi_on_personal_data_shows_nothing_individual(
    client: TestClient, session: Session, lab: Lab
) -> None:
    """Under an aggregates-only agreement on personal data a KPI (whose values are public)
    gets no group under k rows and no min or max (S4-14)."""
    upload(client, lab)
    lab.dataset.has_personal_data = True  # five buildings a month: as if five households
    session.flush()
    p = helpers.pilot(client, lab)
    helpers.agreed(client, lab, p["id"])

    def kpi(query: str) -> dict[str, object]:
        body = {"name": "Energi", "direction": "decrease", "source": "dataset",
                "dataset": lab.dataset.slug, "query": query}  # fmt: skip
        r = client.post(f"/api/v1/pilots/{p['id']}/kpis", json=body, headers=lab.h["researcher"])
        return helpers.ok(r, 201)  # type: ignore[no-any-return]

    whole = kpi("_agg=sum(kwh)&_bucket=month")  # 5 rows a month: shown
    assert whole["last_ok"] is True and len(whole["values"]) == 12  # type: ignore[arg-type]
    schools = kpi(QUERY)  # the schools: fewer than 5 rows a month: left out
    assert schools["values"] == []
    biggest = kpi("_agg=max(kwh)&_bucket=month")  # one building's value: refused
    assert biggest["last_ok"] is False and biggest["values"] == []
    reasons = session.scalars(
        select(AuditEvent.details).where(
            AuditEvent.target_id == str(lab.dataset.id), AuditEvent.outcome == "denied"
        )
    ).all()
    assert any("individual values" in d["reason"] for d in reasons)
