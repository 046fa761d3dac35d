"""Helpers for sensor tests: a publisher, a stream with devices, reading what is stored."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import duckdb
from sqlalchemy.orm import Session

from datatorg.identity.models import Role
from datatorg.lake import service as lake
from datatorg.sensors import service
from datatorg.settings import Settings
from tests.factories import make_org, make_token, make_user
from tests.lake.helpers import make_dataset

ATTRIBUTES = [
    {"name": "no2", "type": "number", "unit": "GQ"},
    {"name": "pm10", "type": "number", "unit": "GQ"},
    {"name": "status", "type": "string"},
    {"name": "count", "type": "integer"},
]


@dataclass
class Stream:
    slug: str
    dataset_id: uuid.UUID
    headers: dict[str, str]
    devices: list[str]
    org_id: uuid.UUID


def make_stream(
    session: Session,
    *,
    devices: int = 3,
    type_name: str = "AirQualityObserved",
    open_data: bool = True,
) -> Stream:
    org = make_org(session)
    user = make_user(session, org=org, roles=(Role.publisher,))
    headers = make_token(session, user)
    ds = make_dataset(session, org, open_data=open_data)
    stream = service.create_stream(
        session=session, actor=None, dataset=ds, type_name=type_name, attributes=ATTRIBUTES
    )
    ids = []
    for i in range(devices):
        ent = service.register_entity(
            session=session,
            stream=stream,
            entity_id=f"urn:ngsi-ld:{type_name}:dev-{i}",
            latitude=59.12 + i / 100,
            longitude=11.38,
        )
        ids.append(ent.id)
    session.flush()
    return Stream(ds.slug, ds.id, headers, ids, org.id)


def stored_rows(session: Session, settings: Settings, dataset_id: uuid.UUID) -> list[Any]:
    """Every row readers see now (head files and live segments), ordered."""
    head = lake.head_files(session=session, settings=settings, dataset_id=dataset_id)
    if head is None:
        return []
    files = ", ".join(f"'{p}'" for p in head.paths)
    return duckdb.sql(
        f"SELECT entityId, observedAt, no2, pm10, status, count FROM read_parquet([{files}]) "
        "ORDER BY entityId, observedAt"
    ).fetchall()
