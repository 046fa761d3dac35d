"""``lastN`` returns each attribute's newest N values, with one gate read per entity where
the attributes come together, not one per entity and attribute (81 reads and audit records
for one anonymous request over 20 stations, 600 at 100 entities). A sparse attribute (fewer
values than N among the newest observations) is still read back to its own N newest."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datatorg.audit.models import AuditEvent
from tests.sensors.helpers import make_stream

TYPE = "AirQualityObserved"


def _reads(session: Session) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "data.read")
        )
        or 0
    )


def test_last_n_reads_once_per_entity_and_keeps_sparse_attributes(
    client: TestClient, session: Session
) -> None:
    s = make_stream(session, devices=3)
    obs = []
    for dev in s.devices:
        for minute in range(8):
            row = {
                "entityId": dev,
                "observedAt": f"2026-11-01T12:{minute:02d}:00Z",
                "no2": float(minute),
                "status": f"s{minute}",
                "count": minute,
            }
            if minute < 2:  # pm10 came only with the two oldest observations
                row["pm10"] = 100.0 + minute
            obs.append(row)
    r = client.post(f"/api/v1/sensors/streams/{s.slug}/observations", headers=s.headers, json=obs)
    assert r.status_code == 200 and r.json()["accepted"] == 24, r.text
    before = _reads(session)
    r = client.get("/ngsi-ld/v1/temporal/entities", params={"type": TYPE, "lastN": "3"})
    assert r.status_code == 200, r.text
    reads = _reads(session) - before
    by_id = {e["id"]: e for e in r.json()}
    assert sorted(by_id) == sorted(s.devices)
    for ent in by_id.values():
        assert [i["value"] for i in ent["no2"]] == [5.0, 6.0, 7.0]  # oldest first
        assert [i["observedAt"] for i in ent["no2"]][-1] == "2026-11-01T12:07:00Z"
        assert [i["value"] for i in ent["pm10"]] == [100.0, 101.0]  # read back past the 3
        assert [i["value"] for i in ent["count"]] == [5, 6, 7]
    # one read per entity, one more for its sparse attribute (and the entity query's own)
    assert reads <= 2 * len(s.devices) + 1, reads
