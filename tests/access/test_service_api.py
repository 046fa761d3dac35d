"""The gate's public service for other domains: reads on behalf of someone (KPIs, NGSI-LD),
a data subject's own rows, and reads with an engine of their own (open/close)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.access import service
from datatorg.audit.models import AuditEvent
from datatorg.errors import Forbidden, Invalid, TooManyRequests, Unauthenticated
from datatorg.identity.actor import ANONYMOUS
from datatorg.settings import Settings
from tests import gate_world
from tests.factories import actor_of


def test_read_dataset_on_behalf_of_an_actor(
    client: TestClient, session: Session, settings: Settings
) -> None:
    world = gate_world.build(client, session)
    steward = actor_of(session, world.users["owner:steward"])
    page = service.read_dataset(
        session=session,
        settings=settings,
        actor=steward,
        ref=world.dataset.slug,
        items=[("_group_by", "postcode"), ("_agg", "sum(kwh)")],
        channel="kpi",
        purpose="ServiceProvision",
    )
    assert page.columns == ["postcode", "sum_kwh"] and len(page.rows) == 9
    outsider = actor_of(session, world.users["other-org"])
    with pytest.raises(Forbidden):
        service.read_dataset(
            session=session,
            settings=settings,
            actor=outsider,
            ref=world.dataset.slug,
            items=[],
            channel="kpi",
        )
    channels = session.scalars(
        select(AuditEvent.details).where(
            AuditEvent.target_id == str(world.dataset.id), AuditEvent.action == "data.read"
        )
    ).all()
    assert {"kpi"} <= {d["channel"] for d in channels}


def test_a_data_subject_reads_their_own_rows(
    client: TestClient, session: Session, settings: Settings, tmp_path: Path
) -> None:
    world = gate_world.build(client, session)
    citizen = actor_of(session, world.users["citizen"])
    mine = frozenset({f"{gate_world.SECRET_KEY}-007"})
    page = service.read_subject_rows(
        session=session,
        settings=settings,
        actor=citizen,
        dataset=world.dataset,
        subject_keys=mine,
        items=[("_size", "max"), ("_count", "1")],
    )
    assert page.columns == ["meter_secret_id", "postcode", "ts", "kwh"]  # no direct identifier
    assert {r[0] for r in page.rows} == set(mine) and page.count == len(page.rows) > 0
    written = service.export_subject_rows(
        session=session,
        settings=settings,
        actor=citizen,
        dataset=world.dataset,
        subject_keys=mine,
        fmt="csv",
        target=tmp_path / "mine.csv",
    )
    assert written == page.count
    assert "MTR-SENTINEL-008" not in (tmp_path / "mine.csv").read_text()
    with pytest.raises(Unauthenticated):
        service.read_subject_rows(
            session=session,
            settings=settings,
            actor=ANONYMOUS,
            dataset=world.dataset,
            subject_keys=mine,
        )
    events = session.scalars(
        select(AuditEvent.details).where(
            AuditEvent.target_id == str(world.dataset.id),
            AuditEvent.outcome == "ok",
            AuditEvent.action == "data.read",
        )
    ).all()
    assert [d["basis"] for d in events if d["channel"] == "subject"] == ["subject", "subject"]


def test_open_and_close_a_read_with_an_engine_of_ones_own(
    client: TestClient, session: Session, settings: Settings
) -> None:
    world = gate_world.build(client, session, calls_per_day=2, rows_per_month=100)
    holder = actor_of(session, world.users["consumer+agreement"])

    def open_(columns: list[str], rows: int = 10) -> service.Read:
        return service.open_read(
            session=session,
            settings=settings,
            actor=holder,
            dataset=world.dataset,
            channel="ngsi-ld",
            columns=columns,
            rows=rows,
        )

    with pytest.raises(Invalid):
        open_(["meter_secret_id"])  # not a column to this reader
    r = open_(["kwh", "ts"])
    assert r.policy.columns == ["postcode", "ts", "kwh"] and not r.policy.filters_rows
    assert r.reservation is not None and r.reservation.rows == 10
    service.close_read(session=session, read=r, rows=4)
    r = open_(["kwh"])
    service.abandon_read(session=session, read=r)  # failed: the call is given back
    r = open_(["kwh"])
    service.close_read(session=session, read=r, rows=1)
    with pytest.raises(TooManyRequests):
        open_(["kwh"])  # two calls a day
    usage = client.get(
        f"/api/v1/agreements/{world.agreement_id}/usage?days=1",
        headers=world.headers["consumer+agreement"],
    ).json()["days"][-1]
    assert usage["calls"] == 2 and usage["rows"] == 5
