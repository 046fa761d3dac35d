"""Living-lab fixtures: a city with a restricted energy dataset (with contents) and an offer,
a coordinator, two evaluators, a citizen with an idea, supporters and a researcher."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.catalog.models import AccessRights, Classification, Dataset, DatasetStatus
from datatorg.identity import service as identity
from datatorg.identity.models import Organisation, OrgKind, Role, User
from datatorg.market import service as market
from datatorg.market.models import Offer
from datatorg.market.schemas import OfferCreate
from datatorg.pilots.calls import today as lab_today
from tests.factories import actor_of, make_org, make_token

_seq = itertools.count(1)

BUILDINGS = [
    ("Os skole", "skole", 1800),
    ("Tistedal skole", "skole", 1500),
    ("Rådhuset", "administrasjon", 3400),
    ("Halden sykehjem", "sykehjem", 2600),
    ("Brødløs barnehage", "barnehage", 700),
]


def energy_csv() -> bytes:
    """Five buildings, one row per building per month of 2025 (deterministic)."""
    lines = ["date,building,category,area_m2,kwh"]
    for m in range(1, 13):
        for i, (name, cat, area) in enumerate(BUILDINGS):
            kwh = round(area * (0.9 + 0.05 * ((m * 7 + i * 3) % 5)) * (1.4 - abs(6.5 - m) / 10), 2)
            lines.append(f"2025-{m:02d}-01,{name},{cat},{area},{kwh}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def user(session: Session, org: Organisation | None = None, *roles: Role) -> User:
    """A user without a password (no Argon2 hashing: keeps these tests fast)."""
    n = next(_seq)
    u = identity.create_user(
        session=session, email=f"lab{n}@example.no", display_name=f"Lab {n}", password=None
    )
    for role in roles:
        assert org is not None
        identity.add_membership(session=session, user=u, organisation=org, role=role)
    return u


@dataclass
class Lab:
    city: Organisation
    school: Organisation
    coordinator: User
    evaluators: list[User]
    citizen: User
    supporters: list[User]
    researcher: User
    publisher: User
    steward: User
    dataset: Dataset
    personal: Dataset
    offer: Offer
    h: dict[str, dict[str, str]] = field(default_factory=dict)  # headers by name


@pytest.fixture
def lab(session: Session) -> Lab:
    return build_lab(session)


def build_lab(session: Session) -> Lab:
    """The living lab's test world in ``session`` (with tokens in ``Lab.h``)."""
    city = make_org(session, kind=OrgKind.public_sector)
    school = make_org(session, kind=OrgKind.education)
    research = make_org(session, kind=OrgKind.research)
    coordinator = user(session, city, Role.coordinator)
    evaluators = [user(session, research, Role.evaluator) for _ in range(2)]
    citizen = user(session)
    supporters = [user(session) for _ in range(3)]
    researcher = user(session, school, Role.consumer)
    publisher = user(session, city, Role.publisher)
    steward = user(session, city, Role.steward)
    n = next(_seq)
    dataset = Dataset(
        slug=f"energi-lab-{n}",
        title_nb="Energibruk i kommunale bygg",
        title_en="Energy use in municipal buildings",
        publisher_id=city.id,
        access_rights=AccessRights.restricted,
        classification=Classification.restricted,
        status=DatasetStatus.published,
    )
    personal = Dataset(
        slug=f"smartmaler-lab-{n}",
        title_nb="Smartmålere",
        publisher_id=city.id,
        access_rights=AccessRights.non_public,
        classification=Classification.personal,
        has_personal_data=True,
        status=DatasetStatus.published,
    )
    session.add_all([dataset, personal])
    session.flush()
    offer = market.create_offer(
        session=session,
        actor=actor_of(session, publisher),
        data=OfferCreate(
            dataset=dataset.slug,
            title="Energidata for piloter",
            purposes=["ImprovePublicServices", "AcademicResearch"],
            consumer_kinds=["education", "research", "private_person"],
            aggregate_only=True,
            calls_per_day=1000,
        ),
    )
    out = Lab(
        city, school, coordinator, evaluators, citizen, supporters, researcher, publisher,
        steward, dataset, personal, offer,
    )  # fmt: skip
    for name in ("coordinator", "citizen", "researcher", "publisher", "steward"):
        out.h[name] = make_token(session, getattr(out, name))
    for i, u in enumerate(evaluators):
        out.h[f"evaluator{i}"] = make_token(session, u)
    for i, u in enumerate(supporters):
        out.h[f"supporter{i}"] = make_token(session, u)
    return out


def upload(client: TestClient, lab: Lab, body: bytes | None = None) -> None:
    r = client.post(
        f"/api/v1/datasets/{lab.dataset.slug}/versions",
        files={"file": ("energi.csv", body or energy_csv())},
        headers=lab.h["publisher"],
    )
    assert r.status_code == 201, r.text


def idea_body(**kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Smartere energi i skolebygg",
        "problem": "Skolene bruker mye strøm om natta og i feriene, uten at noen merker det.",
        "solution": "Måle energibruken per bygg og styre ventilasjon og lys etter timeplanen.",
        "submitter_kind": "citizen",
        "domain": "energy",
        "place": "os",
        "sdgs": [7, 11, 13],
        "need_competence": "Energirådgiver",
        "need_infrastructure": "Målere",
        "need_data": "Energibruk per bygg",
        "need_method": "Før- og etter-måling",
    }
    body.update(kw)
    return body


def call_body(**kw: Any) -> dict[str, Any]:
    today = lab_today()
    body: dict[str, Any] = {
        "title": "Grønn omstilling i Halden",
        "theme": "Energi og klima",
        "description": "Vi søker idéer som kutter energibruk i kommunale bygg.",
        "criteria": "Effekt, gjennomførbarhet og data.",
        "opens_on": (today - timedelta(days=1)).isoformat(),
        "closes_on": (today + timedelta(days=30)).isoformat(),
        "support_threshold": 2,
    }
    body.update(kw)
    return body
