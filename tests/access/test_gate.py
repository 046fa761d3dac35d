"""The gate: open vs non-open, the agreement seam, hidden columns, and audit of refusals."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.audit import service as audit
from datatorg.catalog.models import Dataset, DatasetStatus
from datatorg.identity.models import Role
from datatorg.market import service as market
from tests.factories import make_org, make_token, make_user
from tests.lake.helpers import make_dataset, publisher, upload

CSV = b"meter,name,hour,kwh\nM1,Ola,2024-01-01 00:00:00,1.5\nM2,Kari,2024-01-01 00:00:00,2.5\n"


@pytest.fixture
def personal(client: TestClient, session: Session) -> tuple[Dataset, dict[str, str]]:
    org, headers = publisher(session)
    ds = make_dataset(session, org, open_data=False)
    pending = upload(client, ds, headers, CSV, publish="false").json()
    changes = {
        "fields": [
            {"name": "meter", "role": "subject_key"},
            {"name": "name", "role": "direct_identifier"},
        ]
    }
    resp = client.post(
        f"/api/v1/datasets/{ds.slug}/uploads/{pending['id']}/publish", json=changes, headers=headers
    )
    assert resp.status_code == 201, resp.text
    return ds, headers


def denials(session: Session, ds: Dataset) -> int:
    from sqlalchemy import func, select

    from datatorg.audit.models import AuditEvent

    return int(
        session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.target_id == str(ds.id), AuditEvent.outcome == "denied")
        )
        or 0
    )


def test_owner_reads_everything(client: TestClient, personal: Any) -> None:
    ds, headers = personal
    body = client.get(f"/api/v1/datasets/{ds.slug}/rows", headers=headers).json()
    assert body["columns"] == ["meter", "name", "hour", "kwh"]


def test_anonymous_and_outsiders_are_refused_and_audited(
    client: TestClient, session: Session, personal: Any
) -> None:
    ds, _ = personal
    before = denials(session, ds)
    assert client.get(f"/api/v1/datasets/{ds.slug}/rows").status_code == 401
    outsider = make_user(session, org=make_org(session), roles=(Role.consumer,))
    resp = client.get(f"/api/v1/datasets/{ds.slug}/rows", headers=make_token(session, outsider))
    assert resp.status_code == 403
    assert resp.json()["failed_term"] == "agreement"
    assert client.get(f"/api/v1/datasets/{ds.slug}/download.csv").status_code == 401
    assert denials(session, ds) == before + 3


def _grant(monkeypatch: pytest.MonkeyPatch, calls: list[Any], **terms: Any) -> uuid.UUID:
    agreement = uuid.uuid4()

    def check(**kwargs: Any) -> market.AgreementCheck:
        calls.append(("check", kwargs["columns"], kwargs["aggregate"]))
        return market.AgreementCheck(allowed=True, agreement_id=agreement, **terms)

    def usage(**kwargs: Any) -> None:
        calls.append(("usage", kwargs["agreement_id"], kwargs["rows"]))

    monkeypatch.setattr(market, "check_agreement", check)
    monkeypatch.setattr(market, "record_usage", usage)
    return agreement


def test_agreement_holder_reads_without_identifiers_and_usage_is_metered(
    client: TestClient, session: Session, personal: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds, _ = personal
    calls: list[Any] = []
    agreement = _grant(monkeypatch, calls)
    reader = make_user(session, org=make_org(session), roles=(Role.consumer,))
    headers = make_token(session, reader)
    body = client.get(f"/api/v1/datasets/{ds.slug}/rows", headers=headers).json()
    assert body["columns"] == ["hour", "kwh"]  # subject key and direct identifier never leave
    assert calls[0] == ("check", frozenset({"hour", "kwh"}), False)
    assert calls[1] == ("usage", agreement, 2)
    resp = client.get(f"/api/v1/datasets/{ds.slug}/rows?_col=name", headers=headers)
    assert resp.status_code == 422 and resp.json()["errors"][0]["parameter"] == "_col"


def test_agreement_terms_columns_aggregate_and_quota(
    client: TestClient, session: Session, personal: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds, _ = personal
    reader = make_user(session, org=make_org(session), roles=(Role.consumer,))
    headers = make_token(session, reader)
    _grant(monkeypatch, [], allowed_columns=frozenset({"kwh"}), aggregate_only=True)
    url = f"/api/v1/datasets/{ds.slug}/rows"
    assert client.get(url + "?_col=hour", headers=headers).status_code == 403
    assert client.get(url + "?_col=kwh", headers=headers).status_code == 403  # not aggregate
    body = client.get(url + "?_agg=sum(kwh)", headers=headers).json()
    assert body["rows"] == [[4.0]]
    monkeypatch.setattr(
        market,
        "check_agreement",
        lambda **kw: market.AgreementCheck(allowed=False, failed_term="quota", retry_after=30),
    )
    resp = client.get(url + "?_agg=sum(kwh)", headers=headers)
    assert resp.status_code == 429 and resp.headers["retry-after"] == "30"


def test_drafts_are_invisible_to_others(client: TestClient, session: Session) -> None:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    assert upload(client, ds, headers, b"a\n1\n").status_code == 201
    ds.status = DatasetStatus.draft
    session.flush()
    assert client.get(f"/api/v1/datasets/{ds.slug}/rows").status_code == 404
    assert client.get(f"/api/v1/datasets/{ds.slug}/rows", headers=headers).status_code == 200


def test_refusal_audit_details_hold_no_personal_data(
    client: TestClient, session: Session, personal: Any
) -> None:
    ds, _ = personal
    client.get(f"/api/v1/datasets/{ds.slug}/rows?meter=M1")
    from sqlalchemy import select

    from datatorg.audit.models import AuditEvent

    events = session.scalars(select(AuditEvent).where(AuditEvent.target_id == str(ds.id))).all()
    text = " ".join(str(e.details) for e in events)
    assert "M1" not in text and "Ola" not in text
    assert audit.verify_chain(session=session).ok


def test_publishing_a_version_describes_its_columns_in_the_catalog(
    client: TestClient, personal: Any
) -> None:
    ds, headers = personal
    fields = client.get(f"/api/v1/datasets/{ds.slug}", headers=headers).json()["fields"]
    assert [(f["name"], f["data_category"]) for f in fields] == [
        ("meter", "pseudonym"),
        ("name", "identifier"),
        ("hour", "none"),
        ("kwh", "none"),
    ]
    assert [f["type"] for f in fields][2:] == ["datetime", "number"]
