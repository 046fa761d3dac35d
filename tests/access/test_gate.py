"""The gate: open vs non-open, need-to-know inside the owner, agreements and their terms,
access decided before parameters, and audit of reads and refusals."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datatorg.audit import service as audit
from datatorg.audit.models import AuditEvent
from datatorg.catalog.models import Dataset, DatasetStatus
from tests import gate_world
from tests.gate_world import GateWorld
from tests.lake.helpers import make_dataset, publisher, upload

ALL = ["meter_secret_id", "resident_secret_name", "postcode", "ts", "kwh"]
WITHOUT_IDENTIFIERS = ["postcode", "ts", "kwh"]


@pytest.fixture
def world(client: TestClient, session: Session) -> GateWorld:
    return gate_world.build(client, session)


def _rows(world: GateWorld, who: str, client: TestClient, query: str = "") -> Any:
    return client.get(
        f"/api/v1/datasets/{world.dataset.slug}/rows?_size=3{query}", headers=world.headers[who]
    )


def denials(session: Session, ds: Dataset) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.target_id == str(ds.id), AuditEvent.outcome == "denied")
        )
        or 0
    )


def test_need_to_know_inside_the_owning_organisation(client: TestClient, world: GateWorld) -> None:
    # stewards read everything, identifiers included
    body = _rows(world, "owner:steward", client).json()
    assert body["columns"] == ALL
    assert body["rows"][0][1].startswith(gate_world.SECRET_VALUE)
    # publishers and admins (and superusers) read the contents, never the identifiers
    for who in ("owner:publisher", "owner:admin", "superuser"):
        body = _rows(world, who, client).json()
        assert body["columns"] == WITHOUT_IDENTIFIERS, who
        assert gate_world.SECRET_VALUE not in str(body) and gate_world.SECRET_KEY not in str(body)
        # an identifier column is, to them, a column that is not there
        resp = _rows(world, who, client, "&_col=meter_secret_id")
        assert resp.status_code == 422, who
        resp = _rows(world, who, client, "&meter_secret_id=MTR-SENTINEL-001")
        assert resp.status_code == 422, who
    # the other roles of the organisation read through an agreement like anyone else
    for role in ("consumer", "citizen", "coordinator", "evaluator"):
        resp = _rows(world, f"owner:{role}", client)
        assert resp.status_code == 403, role
        assert resp.json()["failed_term"] == "agreement"


def test_owner_reads_record_their_duty_and_purpose(
    client: TestClient, session: Session, world: GateWorld
) -> None:
    assert _rows(world, "owner:steward", client, "&_purpose=ServiceProvision").status_code == 200
    event = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.target_id == str(world.dataset.id), AuditEvent.outcome == "ok")
        .order_by(AuditEvent.seq.desc())
    ).first()
    assert event is not None
    assert event.details["basis"] == "owner" and event.details["role"] == "steward"
    assert event.details["purpose"] == "ServiceProvision" and event.details["rows"] == 3


def test_agreement_holder_reads_the_agreements_columns_and_is_metered(
    client: TestClient, session: Session, world: GateWorld
) -> None:
    for who in ("consumer+agreement", "agreement-token"):
        body = _rows(world, who, client).json()
        # the agreement's columns by default; identifiers never leave
        assert body["columns"] == ["postcode", "ts", "kwh"], who
        assert len(body["rows"]) == 3
    usage = client.get(
        f"/api/v1/agreements/{world.agreement_id}/usage?days=1",
        headers=world.headers["consumer+agreement"],
    ).json()
    assert usage["days"][-1]["calls"] == 2 and usage["days"][-1]["rows"] == 6
    event = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.target_id == str(world.dataset.id), AuditEvent.outcome == "ok")
        .order_by(AuditEvent.seq.desc())
    ).first()
    assert event is not None and event.details["basis"] == "agreement"
    assert event.details["purpose"] == "AcademicResearch"


def test_agreement_terms_columns_and_aggregate_only(client: TestClient, session: Session) -> None:
    world = gate_world.build(client, session, columns=["kwh"], aggregate_only=True)
    who = "agreement-token"
    # a column outside the agreement is refused, naming the term (it is in the catalog)
    resp = _rows(world, who, client, "&_col=postcode")
    assert resp.status_code == 403 and resp.json()["failed_term"] == "columns"
    # row-level reads are refused under an aggregate-only agreement
    resp = _rows(world, who, client, "&_col=kwh")
    assert resp.status_code == 403 and resp.json()["failed_term"] == "aggregate"
    body = _rows(world, who, client, "&_agg=count&_agg=sum(kwh)").json()
    assert body["rows"][0][0] == gate_world.ROWS


def test_anonymous_and_outsiders_are_refused_and_audited(
    client: TestClient, session: Session, world: GateWorld
) -> None:
    ds = world.dataset
    before = denials(session, ds)
    assert _rows(world, "anonymous", client).status_code == 401
    resp = _rows(world, "other-org", client)
    assert resp.status_code == 403 and resp.json()["failed_term"] == "agreement"
    assert client.get(f"/api/v1/datasets/{ds.slug}/download.csv").status_code == 401
    assert client.get(f"/api/v1/datasets/{ds.slug}/stats").status_code == 401
    # the page sends a visitor to sign in and back (the refusal is recorded all the same)
    page = client.get(f"/datasets/{ds.slug}/data", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == f"/login?next=%2Fdatasets%2F{ds.slug}%2Fdata"
    assert denials(session, ds) == before + 5


@pytest.mark.parametrize(
    "query", ["nosuch=1", "_col=meter_secret_id", "kwh__gt=abc", "_sort=nope", "_size=-1"]
)
def test_access_is_decided_before_parameters_are_read(
    client: TestClient, world: GateWorld, query: str
) -> None:
    """A refused caller learns nothing about columns or types from its parameters."""
    slug = world.dataset.slug
    for who, status in (("anonymous", 401), ("other-org", 403), ("owner:coordinator", 403)):
        for path in (f"/api/v1/datasets/{slug}/rows", f"/api/v1/datasets/{slug}/download.csv"):
            resp = client.get(f"{path}?{query}", headers=world.headers[who])
            assert resp.status_code == status, (who, path, resp.text)
            text = resp.text
            for name in ("meter_secret_id", "resident_secret_name", "postcode", "kwh", "float"):
                assert name not in text, (who, path, name)


def test_versions_are_for_readers_only_and_show_their_view(
    client: TestClient, world: GateWorld
) -> None:
    url = f"/api/v1/datasets/{world.dataset.slug}/versions"
    for who, status in (("anonymous", 401), ("other-org", 403), ("owner:evaluator", 403)):
        resp = client.get(url, headers=world.headers[who])
        assert resp.status_code == status, who
        assert str(gate_world.ROWS) not in resp.text and "meter_secret_id" not in resp.text
    steward = client.get(url, headers=world.headers["owner:steward"]).json()
    names = [f["name"] for f in steward["versions"][0]["table_schema"]["fields"]]
    assert names == ALL and steward["versions"][0]["row_count"] == gate_world.ROWS
    for who in ("owner:publisher", "agreement-token"):
        body = client.get(url, headers=world.headers[who]).json()
        names = [f["name"] for f in body["versions"][0]["table_schema"]["fields"]]
        assert "meter_secret_id" not in names and "resident_secret_name" not in names, who


def test_drafts_are_invisible_to_others(client: TestClient, session: Session) -> None:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    assert upload(client, ds, headers, b"a\n1\n").status_code == 201
    ds.status = DatasetStatus.draft
    session.flush()
    assert client.get(f"/api/v1/datasets/{ds.slug}/rows").status_code == 404
    assert client.get(f"/api/v1/datasets/{ds.slug}/rows", headers=headers).status_code == 200


def test_refusal_audit_details_hold_no_personal_data(
    client: TestClient, session: Session, world: GateWorld
) -> None:
    client.get(f"/api/v1/datasets/{world.dataset.slug}/rows?meter_secret_id=MTR-SENTINEL-001")
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.target_id == str(world.dataset.id))
    ).all()
    text = " ".join(str(e.details) for e in events)
    assert gate_world.SECRET_KEY not in text and gate_world.SECRET_VALUE not in text
    assert audit.verify_chain(session=session).ok


def test_publishing_a_version_describes_its_columns_in_the_catalog(
    client: TestClient, world: GateWorld
) -> None:
    fields = client.get(
        f"/api/v1/datasets/{world.dataset.slug}", headers=world.headers["owner:publisher"]
    ).json()["fields"]
    assert [(f["name"], f["data_category"]) for f in fields] == [
        ("meter_secret_id", "pseudonym"),
        ("resident_secret_name", "identifier"),
        ("postcode", "personal"),
        ("ts", "none"),
        ("kwh", "none"),
    ]


def test_one_data_page_view_is_one_metered_view(client: TestClient, session: Session) -> None:
    world = gate_world.build(client, session, calls_per_day=50, rows_per_month=10_000)
    page = client.get(
        f"/datasets/{world.dataset.slug}/data", headers=world.headers["agreement-token"]
    )
    assert page.status_code == 200, page.text
    assert "Sentinel" not in page.text and "meter_secret_id" not in page.text
    usage = client.get(
        f"/api/v1/agreements/{world.agreement_id}/usage?days=1",
        headers=world.headers["consumer+agreement"],
    ).json()["days"][-1]
    assert usage["calls"] == 1 and usage["rows"] == 25  # the preview's rows
    events = session.scalars(
        select(AuditEvent).where(
            AuditEvent.target_id == str(world.dataset.id), AuditEvent.outcome == "ok"
        )
    ).all()
    page_events = [e for e in events if e.details.get("channel") == "page"]
    assert len(page_events) == 1
    assert page_events[0].details["parts"] == ["preview", "stats", "charts"]


def test_the_dataset_page_offers_see_data_to_whom_the_gate_lets_read(
    client: TestClient, world: GateWorld
) -> None:
    """The dataset page's "See data" follows the gate's rule: an evaluator or consumer of the
    owning organisation is not its owner there either (the link would answer 403)."""
    ds = world.dataset
    link = f'href="/datasets/{ds.slug}/data"'
    for who in [*(f"owner:{r.value}" for r in gate_world.OWNER_ROLES), "consumer+agreement"]:
        page = client.get(
            f"/datasets/{ds.slug}", headers={"Accept": "text/html", **world.headers[who]}
        )
        assert page.status_code == 200, who
        rows = _rows(world, who, client)
        assert (link in page.text) == (rows.status_code == 200), (who, rows.status_code)
