"""Marketplace fixtures: a provider with a restricted dataset and an offer, and a consumer."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from datatorg.catalog.models import (
    AccessRights,
    Classification,
    Dataset,
    DatasetStatus,
    SchemaField,
)
from datatorg.db.base import utcnow
from datatorg.identity import service as identity
from datatorg.identity.actor import Actor
from datatorg.identity.models import Organisation, OrgKind, Role, User
from datatorg.market import service
from datatorg.market.metering import today as utc_today
from datatorg.market.models import Offer
from datatorg.market.schemas import AccessRequestCreate, OfferCreate
from tests.factories import actor_of, make_org

_seq = itertools.count(1)


@dataclass
class World:
    provider: Organisation
    consumer_org: Organisation
    publisher: User
    steward: User
    consumer: User
    dataset: Dataset
    offer: Offer

    def actor(self, session: Session, user: User) -> Actor:
        return actor_of(session, user)


COLUMNS = ("building", "month", "kwh", "area")


def make_dataset(session: Session, org: Organisation, **kw: Any) -> Dataset:
    """A restricted dataset whose catalog describes the columns the offers name."""
    columns = kw.pop("columns", COLUMNS)
    ds = Dataset(
        slug=kw.pop("slug", f"ds-{org.slug}-{utcnow().timestamp()}"),
        title_nb=kw.pop("title_nb", "Energibruk i kommunale bygg"),
        publisher_id=org.id,
        access_rights=kw.pop("access_rights", AccessRights.restricted),
        classification=kw.pop("classification", Classification.restricted),
        status=DatasetStatus.published,
        fields=[SchemaField(name=c, position=i) for i, c in enumerate(columns)],
        **kw,
    )
    session.add(ds)
    session.flush()
    return ds


def offer_data(dataset: Dataset, **kw: Any) -> OfferCreate:
    base: dict[str, Any] = {
        "dataset": dataset.slug,
        "title": "Forskning på energibruk",
        "licence": "https://data.norge.no/nlod/no/2.0",
        "purposes": ["ScientificResearch", "AcademicResearch", "ImprovePublicServices"],
        "consumer_kinds": ["research", "education", "public_sector", "private_person"],
        "columns": ["building", "month", "kwh", "area"],
        "max_period_days": 365,
        "calls_per_day": 100,
        "rows_per_month": 100_000,
    }
    base.update(kw)
    return OfferCreate.model_validate(base)


def request_data(offer: Offer, **kw: Any) -> AccessRequestCreate:
    today = utc_today()
    base: dict[str, Any] = {
        "offer_id": offer.id,
        "purpose": "AcademicResearch",
        "description": "Master thesis on energy use in school buildings.",
        "period_start": today,
        "period_end": today + timedelta(days=90),
        "columns": ["building", "month", "kwh"],
    }
    base.update(kw)
    return AccessRequestCreate.model_validate(base)


def quick_user(session: Session, org: Organisation | None = None, *roles: Role) -> User:
    """A user without a password (no Argon2 hashing: keeps these tests fast)."""
    n = next(_seq)
    user = identity.create_user(
        session=session, email=f"market{n}@example.no", display_name=f"Marked {n}", password=None
    )
    for role in roles:
        assert org is not None
        identity.add_membership(session=session, user=user, organisation=org, role=role)
    return user


@pytest.fixture
def world(session: Session) -> World:
    provider = make_org(session, kind=OrgKind.public_sector)
    consumer_org = make_org(session, kind=OrgKind.education)
    publisher = quick_user(session, provider, Role.publisher)
    steward = quick_user(session, provider, Role.steward)
    consumer = quick_user(session, consumer_org, Role.consumer)
    dataset = make_dataset(session, provider)
    offer = service.create_offer(
        session=session, actor=actor_of(session, publisher), data=offer_data(dataset)
    )
    return World(provider, consumer_org, publisher, steward, consumer, dataset, offer)
