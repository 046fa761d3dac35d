"""JSON API of the lake: upload a version, review and publish a pending upload, list versions."""

from __future__ import annotations

import hmac
import shutil
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from datatorg.audit import service as audit
from datatorg.catalog import deps as catalog_deps
from datatorg.catalog.models import Dataset
from datatorg.errors import BadRequest, Forbidden, NotFound
from datatorg.identity import permissions as perm
from datatorg.identity.actor import Actor
from datatorg.identity.deps import UserActorDep
from datatorg.identity.models import Role
from datatorg.lake import policies, service, upload
from datatorg.lake.models import PendingUpload, WriteMode
from datatorg.lake.schemas import SchemaUpdate, UploadRead, VersionRead
from datatorg.web import csrf
from datatorg.web.deps import SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1/datasets", tags=["data"])


def _may_upload(actor: Actor, dataset: Dataset) -> None:
    if not policies.can_upload(actor, dataset):
        raise Forbidden("Only publishers of the owning organisation may upload data")


def check_api_csrf(request: Request) -> None:
    """Browser (cookie) callers must send the CSRF header; token callers need not."""
    if request.headers.get("authorization"):
        return
    cookie = request.cookies.get(csrf.CSRF_COOKIE, "")
    sent = request.headers.get(csrf.CSRF_HEADER, "")
    if not cookie or not hmac.compare_digest(cookie, sent):
        raise Forbidden("Missing or wrong X-CSRF-Token header")


@router.post(
    "/{ref}/versions",
    status_code=201,
    dependencies=[perm.org(catalog_deps.dataset, Role.publisher, person=True)],
)
async def upload_version(
    ref: str, request: Request, session: SessionDep, settings: SettingsDep, actor: UserActorDep
) -> JSONResponse:
    """Upload a file (multipart field ``file``) as a new version (``mode=replace|append``).

    With ``publish=false`` the upload is validated and kept pending (202) so the publisher can
    adjust the schema first; otherwise it is published at once (201).
    """
    check_api_csrf(request)

    def check() -> tuple[Dataset, Path]:
        dataset = service.get_dataset(session=session, ref=ref)
        if not policies.is_visible(actor, dataset):
            raise NotFound("No such dataset")
        _may_upload(actor, dataset)
        session.commit()  # no transaction (nor the write turn) is held while the file arrives
        return dataset, service.new_staging(settings)

    dataset, folder = await run_in_threadpool(check)
    received = await upload.receive(request, folder, settings.upload_max_bytes)

    def stage_and_publish() -> JSONResponse:
        try:  # every refusal from here on removes what was staged
            raw_mode, publish = upload.read_options(
                received.fields, request.query_params, allowed=upload.API_FIELDS
            )
            mode = WriteMode(raw_mode)
            pending = service.stage_upload(
                session=session,
                settings=settings,
                dataset=dataset,
                source=received.path,
                filename=received.filename,
                mode=mode,
                uploaded_by=actor.user_id,
            )
            if not publish:
                return JSONResponse(
                    UploadRead.model_validate(pending).model_dump(mode="json"), status_code=202
                )
            version = service.publish(
                session=session,
                settings=settings,
                pending=pending,
                created_by=actor.user_id,
                locked=True,
            )
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        _audit_publish(session, actor, dataset, version.number, version.added_rows, mode)
        return JSONResponse(VersionRead.model_validate(version).model_dump(mode="json"), 201)

    # Whole-file checks and typing take seconds for a large file: off the event loop.
    return await run_in_threadpool(stage_and_publish)


def _audit_publish(
    session: Any, actor: Actor, dataset: Dataset, number: int, rows: int, mode: WriteMode
) -> None:
    audit.record(
        session=session,
        actor=actor,
        action="data.publish",
        target_type="dataset",
        target_id=str(dataset.id),
        details={"version": number, "rows": rows, "mode": str(mode)},
    )


def _pending(session: Any, actor: Actor, ref: str, upload_id: str) -> tuple[Dataset, PendingUpload]:
    dataset = service.get_dataset(session=session, ref=ref)
    if not policies.can_upload(actor, dataset):
        raise NotFound("No such upload")
    return dataset, service.get_pending(session=session, dataset=dataset, upload_id=upload_id)


@router.get(
    "/{ref}/uploads/{upload_id}",
    dependencies=[perm.org(catalog_deps.dataset, Role.publisher, person=True, hide=True)],
)
def get_upload(ref: str, upload_id: str, session: SessionDep, actor: UserActorDep) -> UploadRead:
    """A pending upload: its inferred schema and validation report."""
    _, pending = _pending(session, actor, ref, upload_id)
    return UploadRead.model_validate(pending)


@router.post(
    "/{ref}/uploads/{upload_id}/publish",
    status_code=201,
    dependencies=[perm.org(catalog_deps.dataset, Role.publisher, person=True, hide=True)],
)
def publish_upload(
    ref: str,
    upload_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: UserActorDep,
    changes: Annotated[SchemaUpdate | None, Body()] = None,
) -> VersionRead:
    """Publish a pending upload, applying schema changes (types, formats, units, roles)."""
    check_api_csrf(request)
    dataset, pending = _pending(session, actor, ref, upload_id)
    version = service.publish(
        session=session,
        settings=settings,
        pending=pending,
        changes=changes.model_dump(exclude_unset=True) if changes else None,
        created_by=actor.user_id,
    )
    _audit_publish(session, actor, dataset, version.number, version.added_rows, pending.mode)
    return VersionRead.model_validate(version)


@router.delete(
    "/{ref}/uploads/{upload_id}",
    status_code=204,
    dependencies=[perm.org(catalog_deps.dataset, Role.publisher, person=True, hide=True)],
)
def discard_upload(
    ref: str,
    upload_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: UserActorDep,
) -> None:
    """Drop a pending upload."""
    check_api_csrf(request)
    _, pending = _pending(session, actor, ref, upload_id)
    if pending.status != "pending":
        raise BadRequest("This upload is no longer pending")
    service.discard(session=session, settings=settings, pending=pending)
