"""Small helpers for data-plane tests: datasets, publishers, uploads."""

from __future__ import annotations

import itertools
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.catalog.models import (
    AccessRights,
    Classification,
    Dataset,
    DatasetStatus,
)
from datatorg.identity.models import Organisation, Role
from tests.factories import make_org, make_token, make_user

_seq = itertools.count(1)


def make_dataset(
    session: Session, org: Organisation, *, open_data: bool = True, slug: str | None = None
) -> Dataset:
    ds = Dataset(
        slug=slug or f"ds-{next(_seq)}",
        title_nb="Testdata",
        publisher_id=org.id,
        access_rights=AccessRights.public if open_data else AccessRights.non_public,
        classification=Classification.open if open_data else Classification.personal,
        has_personal_data=not open_data,
        status=DatasetStatus.published,
    )
    session.add(ds)
    session.flush()
    return ds


def publisher(session: Session) -> tuple[Organisation, dict[str, str]]:
    org = make_org(session)
    user = make_user(session, org=org, roles=(Role.publisher,))
    return org, make_token(session, user)


def upload(
    client: TestClient,
    ds: Dataset,
    headers: dict[str, str],
    content: bytes,
    filename: str = "data.csv",
    **fields: str,
) -> Any:
    return client.post(
        f"/api/v1/datasets/{ds.slug}/versions",
        files={"file": (filename, content)},
        data=fields,
        headers=headers,
    )
