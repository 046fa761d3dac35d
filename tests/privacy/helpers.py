"""Helpers for privacy tests: personal datasets with declared subjects, filled through the
lake's own upload path, and citizens."""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from datatorg.catalog.models import AccessRights, Classification, Dataset, DatasetStatus
from datatorg.db.base import utcnow
from datatorg.identity import service as identity
from datatorg.identity.models import Organisation, Role, User
from datatorg.lake import service as lake
from datatorg.lake.models import DatasetVersion, WriteMode
from datatorg.market.models import Agreement, PriceModel
from datatorg.privacy import service as privacy
from datatorg.privacy.models import IdentityKind
from datatorg.settings import Settings

_seq = itertools.count(1)


def personal_dataset(
    session: Session,
    org: Organisation,
    *,
    column: str = "meter_id",
    kind: IdentityKind = IdentityKind.meter_number,
    legal_basis: str = "Consent",
    categories: tuple[str, ...] = ("ObservedPersonalData",),
    legal_hold: str = "",
) -> Dataset:
    n = next(_seq)
    ds = Dataset(
        slug=f"personal-{n}-{org.slug}",
        title_nb=f"Persondata {n}",
        title_en=f"Personal data {n}",
        publisher_id=org.id,
        access_rights=AccessRights.non_public,
        classification=Classification.personal,
        has_personal_data=True,
        status=DatasetStatus.published,
    )
    session.add(ds)
    session.flush()
    privacy.declare_dataset(
        session=session,
        actor=None,
        dataset=ds,
        subject_column=column,
        identity_kind=kind,
        legal_basis=legal_basis,
        categories=list(categories),
        legal_hold=legal_hold,
    )
    return ds


def upload_csv(
    session: Session,
    settings: Settings,
    ds: Dataset,
    text: str,
    *,
    mode: WriteMode = WriteMode.replace,
    changes: dict[str, Any] | None = None,
) -> DatasetVersion:
    folder = lake.new_staging(settings)
    source = Path(folder) / "source.csv"
    source.write_text(text, encoding="utf-8")
    return lake.ingest_file(
        session=session,
        settings=settings,
        dataset=ds,
        source=source,
        filename="data.csv",
        mode=mode,
        uploaded_by=None,
        changes=changes,
    )


def meter_csv(meters: list[str], hours: int = 3) -> str:
    lines = ["meter_id,reading_time,kwh"]
    for h in range(hours):
        for i, m in enumerate(meters):
            lines.append(f"{m},2025-01-01T{h:02d}:00:00,{0.5 + i + h / 10:.2f}")
    return "\n".join(lines) + "\n"


def citizen(session: Session, email: str | None = None) -> User:
    n = next(_seq)
    return identity.create_user(
        session=session,
        email=email or f"innbygger{n}-{id(session)}@example.no",
        display_name=f"Innbygger {n}",
        password=None,
    )


def research_agreement(session: Session, ds: Dataset, purpose: str = "ScientificResearch") -> User:
    """A consumer (a new user of a new organisation) holding an agreement on ``ds`` for
    ``purpose`` with every column; returns the consumer."""
    from tests.factories import make_org

    consumer_org = make_org(session)
    user = citizen(session)
    identity.add_membership(
        session=session, user=user, organisation=consumer_org, role=Role.consumer
    )
    now = utcnow()
    session.add(
        Agreement(
            dataset_id=ds.id,
            assigner_org_id=ds.publisher_id,
            assignee_org_id=consumer_org.id,
            assignee_user_id=user.id,
            purpose=purpose,
            legal_basis="Consent",
            columns=None,
            aggregate_only=False,
            price_model=PriceModel.free,
            price_nok=0,
            licence="",
            attribution_required=True,
            redistribution_prohibited=True,
            valid_from=now - timedelta(days=1),
            valid_until=now + timedelta(days=30),
            agreed_at=now,
            content_hash=uuid.uuid4().hex,
        )
    )
    session.flush()
    return user
