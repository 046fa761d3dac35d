"""Privacy JSON API: the citizen's consents (``/api/v1/me/consents``), receipts and their
key, notices, and dataset declarations. The twin of ``pages.py``: same services."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from starlette.responses import JSONResponse

from datatorg.catalog import deps as catalog_deps
from datatorg.catalog import service as catalog
from datatorg.errors import Invalid, NotFound
from datatorg.identity import permissions as perm
from datatorg.identity.deps import ActorDep, UserActorDep
from datatorg.identity.models import Role
from datatorg.privacy import deps, present
from datatorg.privacy import service as privacy
from datatorg.privacy.models import ScopeKind
from datatorg.privacy.schemas import (
    ConsentCreate,
    ConsentPage,
    ConsentRead,
    DeclarationRead,
    DeclarationWrite,
    NoticeRead,
)
from datatorg.web.deps import SessionDep, SettingsDep
from datatorg.web.i18n import gettext as _

router = APIRouter(prefix="/api/v1", tags=["privacy"])


@router.get("/me/consents", dependencies=[perm.PERSON])
def my_consents(session: SessionDep, settings: SettingsDep, actor: UserActorDep) -> ConsentPage:
    """Your consents with their history, and the notices you can consent to."""
    subject = privacy.subject_for_actor(session=session, settings=settings, actor=actor)
    return present.consent_page(session, subject)


@router.post("/me/consents", status_code=201, dependencies=[perm.PERSON])
def give_consent(
    data: ConsentCreate, session: SessionDep, settings: SettingsDep, actor: UserActorDep
) -> ConsentRead:
    """Give consent for a purpose in a scope (a dataset, a provider or a kind of data)."""
    if data.scope_kind == ScopeKind.pilot:
        raise Invalid(
            _("Join a pilot on the pilot's own page: taking part starts with that consent."),
            errors=[{"field": "scope_kind", "message": "join the pilot instead"}],
        )
    subject = privacy.subject_for_actor(session=session, settings=settings, actor=actor)
    consent = privacy.give(
        session=session,
        subject=subject,
        purpose=data.purpose,
        scope_kind=data.scope_kind,
        scope_ref=data.scope_ref,
        expires_at=data.expires_at,
        channel="api",
    )
    return present.consent_read(session, consent)


@router.post(
    "/me/consents/{consent_id}/withdraw", dependencies=[perm.own(deps.consent, person=True)]
)
def withdraw_consent(
    consent_id: uuid.UUID, session: SessionDep, settings: SettingsDep, actor: UserActorDep
) -> ConsentRead:
    """Withdraw a consent: from the next query on, nobody gets new rows under it."""
    subject = privacy.subject_for_actor(session=session, settings=settings, actor=actor)
    consent = privacy.withdraw(
        session=session, subject=subject, consent_id=consent_id, channel="api"
    )
    return present.consent_read(session, consent)


@router.get("/me/consents/{consent_id}/receipt", dependencies=[perm.own(deps.consent, person=True)])
def consent_receipt(
    consent_id: uuid.UUID, session: SessionDep, settings: SettingsDep, actor: UserActorDep
) -> JSONResponse:
    """The consent record as a signed JSON receipt (download)."""
    subject = privacy.subject_for_actor(session=session, settings=settings, actor=actor)
    consent = privacy.get_consent(session=session, subject=subject, consent_id=consent_id)
    doc = privacy.receipt(session=session, settings=settings, consent=consent)
    return JSONResponse(
        doc,
        headers={"Content-Disposition": f'attachment; filename="consent-{consent.id}.json"'},
    )


@router.get("/privacy/receipt-key", dependencies=[perm.ANYONE])
def receipt_key(settings: SettingsDep) -> dict[str, object]:
    """The Ed25519 public key (JWK) that verifies consent receipts."""
    return {"keys": [privacy.receipt_key(settings=settings)]}


@router.get("/privacy/notices", dependencies=[perm.ANYONE])
def list_notices(session: SessionDep) -> list[NoticeRead]:
    """The newest notice of every purpose one can consent to."""
    return [present.notice_read(n) for n in privacy.notices(session=session)]


@router.get("/datasets/{ref}/privacy", dependencies=[perm.ANYONE])
def get_declaration(ref: str, session: SessionDep, actor: ActorDep) -> DeclarationRead:
    """What the dataset declares about its subjects and legal basis (public facts)."""
    dataset = catalog.get_visible_dataset(session=session, actor=actor, ref=ref)
    decl = privacy.declaration(session=session, dataset_id=dataset.id)
    if decl is None:
        raise NotFound("This dataset declares no data subjects")
    return DeclarationRead.model_validate(decl, from_attributes=True)


@router.put(
    "/datasets/{ref}/privacy",
    dependencies=[perm.org(catalog_deps.dataset, Role.publisher)],
)
def put_declaration(
    ref: str, data: DeclarationWrite, session: SessionDep, actor: UserActorDep
) -> DeclarationRead:
    """Declare the subject column, identity kind, legal basis and data categories
    (publishers of the owning organisation)."""
    dataset = privacy.get_dataset(session=session, ref=ref)
    decl = privacy.declare_dataset(
        session=session,
        actor=actor,
        dataset=dataset,
        subject_column=data.subject_column,
        identity_kind=data.identity_kind,
        legal_basis=data.legal_basis,
        categories=data.categories,
        legal_hold=data.legal_hold,
    )
    return DeclarationRead.model_validate(decl, from_attributes=True)
