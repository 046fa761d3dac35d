"""A small world for the gate's tests: a personal dataset of an owning organisation with a
member in every role, an outsider, consumers with and without an agreement, an
agreement-scoped token, a revoked token, a citizen and a superuser — each as request headers.

The dataset's values are sentinels that must never reach a caller who may not read them.
"""

from __future__ import annotations

import io
import itertools
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.catalog.models import AccessRights, Classification, Dataset, DatasetStatus
from datatorg.identity import service as identity
from datatorg.identity.models import Organisation, OrgKind, Role, User
from datatorg.market import service as market
from datatorg.market.metering import today as utc_today
from datatorg.market.schemas import AccessRequestCreate, OfferCreate
from tests.factories import actor_of, make_org

_seq = itertools.count(1)

ROWS = 1357  # a row count that appears nowhere else in an answer
SECRET_VALUE = "Sentinel-Ola-Nordmann"  # the direct identifier's values start so
SECRET_KEY = "MTR-SENTINEL"  # the subject key's values start so
SECRET_COLUMNS = ("meter_secret_id", "resident_secret_name")  # subject key, direct identifier
T0 = datetime(2025, 3, 1)

OWNER_ROLES = tuple(Role)
CALLERS = (
    "anonymous",
    "citizen",
    *(f"owner:{r.value}" for r in OWNER_ROLES),
    "other-org",
    "consumer",
    "consumer+agreement",
    "agreement-token",
    "revoked-token",
    "superuser",
)


def personal_parquet(rows: int = ROWS) -> bytes:
    table = pa.table(
        {
            "meter_secret_id": [f"{SECRET_KEY}-{i % 40:03d}" for i in range(rows)],
            "resident_secret_name": [f"{SECRET_VALUE} {i % 40}" for i in range(rows)],
            "postcode": [f"17{i % 9:02d}" for i in range(rows)],
            "ts": [T0 + timedelta(hours=i) for i in range(rows)],
            "kwh": [round((i % 97) * 0.25, 2) for i in range(rows)],
        }
    )
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


ROLES_OF_COLUMNS = [
    {"name": "meter_secret_id", "role": "subject_key"},
    {"name": "resident_secret_name", "role": "direct_identifier"},
    {"name": "postcode", "role": "quasi_identifier"},
    {"name": "ts", "role": "time"},
]


def user(session: Session, org: Organisation | None = None, *roles: Role, **kw: Any) -> User:
    """A user without a password (no Argon2 hashing: keeps these tests fast)."""
    n = next(_seq)
    u = identity.create_user(
        session=session,
        email=f"gate{n}-{uuid.uuid4().hex[:6]}@example.no",
        display_name=f"Port {n}",
        password=None,
        **kw,
    )
    for role in roles:
        assert org is not None
        identity.add_membership(session=session, user=u, organisation=org, role=role)
    return u


def bearer(session: Session, u: User, **kw: Any) -> dict[str, str]:
    plaintext, _ = identity.create_token(session=session, user=u, name="gate", **kw)
    return {"Authorization": f"Bearer {plaintext}"}


@dataclass
class GateWorld:
    owner: Organisation
    dataset: Dataset
    open_dataset: Dataset
    users: dict[str, User]
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    agreement_id: uuid.UUID | None = None
    offer_id: uuid.UUID | None = None
    request_id: uuid.UUID | None = None
    upload_id: str = ""  # a pending upload of the dataset


def publish_personal(
    client: TestClient, ds: Dataset, headers: dict[str, str], content: bytes
) -> None:
    pending = client.post(
        f"/api/v1/datasets/{ds.slug}/versions",
        files={"file": ("readings.parquet", content)},
        data={"publish": "false"},
        headers=headers,
    )
    assert pending.status_code == 202, pending.text
    resp = client.post(
        f"/api/v1/datasets/{ds.slug}/uploads/{pending.json()['id']}/publish",
        json={"fields": ROLES_OF_COLUMNS},
        headers=headers,
    )
    assert resp.status_code == 201, resp.text


def make_dataset(session: Session, org: Organisation, *, personal: bool = True) -> Dataset:
    n = next(_seq)
    ds = Dataset(
        slug=f"gate-{n}-{uuid.uuid4().hex[:6]}",
        title_nb="Strømmålere",
        publisher_id=org.id,
        access_rights=AccessRights.non_public if personal else AccessRights.public,
        classification=Classification.personal if personal else Classification.open,
        has_personal_data=personal,
        status=DatasetStatus.published,
    )
    session.add(ds)
    session.flush()
    return ds


def agreement(
    session: Session,
    dataset: Dataset,
    publisher: User,
    consumer: User,
    columns: list[str] | None = None,
    **terms: Any,
) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """An agreement in force (offer, request, approval); (agreement, offer, request) ids."""
    base: dict[str, Any] = {
        "dataset": dataset.slug,
        "title": "Forskning",
        "licence": "https://data.norge.no/nlod/no/2.0",
        "purposes": ["AcademicResearch", "ScientificResearch"],
        "consumer_kinds": ["research", "education", "public_sector", "business"],
        "columns": columns,
        "max_period_days": 365,
        "calls_per_day": None,
        "rows_per_month": None,
    }
    base.update(terms)
    offer = market.create_offer(
        session=session, actor=actor_of(session, publisher), data=OfferCreate.model_validate(base)
    )
    today = utc_today()
    req = market.create_request(
        session=session,
        settings=None,
        actor=actor_of(session, consumer),
        data=AccessRequestCreate.model_validate(
            {
                "offer_id": offer.id,
                "purpose": "AcademicResearch",
                "description": "Energy use of households over a winter.",
                "period_start": today,
                "period_end": today + timedelta(days=60),
                "columns": columns,
            }
        ),
    )
    approved = market.approve(
        session=session, settings=None, actor=actor_of(session, publisher), request_id=req.id
    )
    return approved.id, offer.id, req.id


def build(client: TestClient, session: Session, **terms: Any) -> GateWorld:
    """The world: every caller of ``CALLERS`` as headers (``anonymous`` has none)."""
    owner = make_org(session, kind=OrgKind.public_sector)
    other = make_org(session, kind=OrgKind.business)
    school = make_org(session, kind=OrgKind.education)
    users: dict[str, User] = {}
    for role in OWNER_ROLES:
        users[f"owner:{role.value}"] = user(session, owner, role)
    users["other-org"] = user(session, other, Role.publisher, Role.steward)
    # a consumer of another school: no agreement (the agreement's school's consumers are its
    # assignees too)
    users["consumer"] = user(session, make_org(session, kind=OrgKind.education), Role.consumer)
    users["consumer+agreement"] = user(session, school, Role.consumer)
    users["citizen"] = user(session)
    users["superuser"] = user(session, is_superuser=True)
    ds = make_dataset(session, owner)
    open_ds = make_dataset(session, owner, personal=False)
    make_dataset(session, other)  # another organisation publishes data of its own
    world = GateWorld(owner=owner, dataset=ds, open_dataset=open_ds, users=users)
    world.headers = {name: bearer(session, u) for name, u in users.items()}
    world.headers["anonymous"] = {}
    publisher = world.headers["owner:publisher"]
    publish_personal(client, ds, publisher, personal_parquet())
    r = client.post(
        f"/api/v1/datasets/{open_ds.slug}/versions",
        files={"file": ("open.csv", b"place,count\nHalden,3\nTistedal,5\n")},
        headers=publisher,
    )
    assert r.status_code == 201, r.text
    pending = client.post(
        f"/api/v1/datasets/{ds.slug}/versions",
        files={"file": ("more.parquet", personal_parquet(5))},
        data={"publish": "false", "mode": "append"},
        headers=publisher,
    )
    assert pending.status_code == 202, pending.text
    world.upload_id = pending.json()["id"]
    aid, offer_id, request_id = agreement(
        session,
        ds,
        users["owner:publisher"],
        users["consumer+agreement"],
        **({"columns": ["postcode", "ts", "kwh"]} | terms),
    )
    world.agreement_id, world.offer_id, world.request_id = aid, offer_id, request_id
    holder = users["consumer+agreement"]
    world.headers["agreement-token"] = bearer(session, holder, agreement_id=aid)
    revoked = user(session, school, Role.consumer)
    plaintext, token = identity.create_token(session=session, user=revoked, name="gone")
    identity.revoke_token(session=session, user=revoked, token_id=token.id)
    world.headers["revoked-token"] = {"Authorization": f"Bearer {plaintext}"}
    session.flush()
    return world
