"""Small builders for catalog tests."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from sqlalchemy.orm import Session

from datatorg.catalog import service
from datatorg.catalog.models import Dataset
from datatorg.catalog.schemas import DatasetCreate
from datatorg.identity.actor import Actor
from datatorg.identity.models import Organisation, Role
from tests.factories import actor_of, make_user

_seq = itertools.count(1)
_publishers: dict[uuid.UUID, Actor] = {}


def body(**overrides: Any) -> dict[str, Any]:
    n = next(_seq)
    data: dict[str, Any] = {
        "slug": f"datasett-{n}",
        "title_nb": f"Datasett {n}",
        "title_en": f"Dataset {n}",
        "description_nb": "Beskrivelse",
        "license": "NLOD-2.0",
        "themes": ["GOVE"],
        "distributions": [{"format": "CSV", "download_url": f"https://example.no/{n}.csv"}],
        "fields": [{"name": "verdi", "type": "number"}],
    }
    data.update(overrides)
    return data


def make_dataset(
    session: Session, org: Organisation, *, publish: bool = True, **overrides: Any
) -> Dataset:
    actor = _publishers.get(org.id)
    if actor is None:  # one publisher per organisation: password hashing is slow on purpose
        actor = actor_of(session, make_user(session, org=org, roles=(Role.publisher,)))
        _publishers[org.id] = actor
    data = DatasetCreate.model_validate(body(publisher=org.slug, **overrides))
    dataset = service.create_dataset(session=session, actor=actor, data=data)
    if publish:
        service.publish_dataset(session=session, actor=actor, dataset=dataset)
    return dataset
