"""Upload pages: choose a file, see the validation report, adjust the schema, publish.

The plain form works without JavaScript; ``/static/upload.js`` adds a progress bar.
"""

from __future__ import annotations

import hmac
import shutil
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from datatorg.audit import service as audit
from datatorg.catalog import deps as catalog_deps
from datatorg.catalog.models import Dataset
from datatorg.errors import DatatorgError, Forbidden, Invalid, NotFound, Unauthenticated
from datatorg.identity import permissions as perm
from datatorg.identity.actor import Actor
from datatorg.identity.deps import ActorDep, UserActorDep
from datatorg.identity.models import Role
from datatorg.lake import missing, policies, review, service, upload
from datatorg.lake import schema as ts
from datatorg.lake.models import PendingUpload, UploadStatus, WriteMode
from datatorg.settings import Settings
from datatorg.web import csrf
from datatorg.web.csrf import CsrfDep
from datatorg.web.deps import SessionDep, SettingsDep
from datatorg.web.templating import render

router = APIRouter(tags=["data pages"])


def _dataset_for_upload(session: Any, actor: Actor, ref: str) -> Dataset:
    dataset = service.get_dataset(session=session, ref=ref)
    if not policies.can_upload(actor, dataset):
        raise Forbidden("Only publishers of the owning organisation may upload data")
    return dataset


@router.get(
    "/datasets/{ref}/upload",
    dependencies=[perm.org(catalog_deps.dataset, Role.publisher, person=True)],
)
def upload_form(ref: str, request: Request, session: SessionDep, actor: UserActorDep) -> Response:
    """The upload form."""
    dataset = _dataset_for_upload(session, actor, ref)
    head = service.head(session=session, dataset_id=dataset.id)
    ctx: dict[str, Any] = {
        "ds": dataset,
        "head": head,
        "errors": [],
        "discarded": "discarded" in request.query_params,
    }
    return render(request, "upload_form.html", ctx)


@router.post(
    "/datasets/{ref}/upload",
    dependencies=[perm.org(catalog_deps.dataset, Role.publisher, person=True)],
)
async def upload_submit(
    ref: str, request: Request, session: SessionDep, settings: SettingsDep, actor: ActorDep
) -> Response:
    """Receive the file (streamed), validate it, and show the review page.

    The CSRF token travels as a form field ahead of the file, so it and the caller's rights
    are checked when the file part begins: a forged or unauthorised upload is refused before
    any of the file is read.
    """
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        await csrf.verify_csrf(request)

    def check() -> tuple[Dataset | Exception, Path]:
        """The dataset, or why the caller may not upload to it (raised once CSRF passed)."""
        try:
            if not actor.is_authenticated:
                raise Unauthenticated("Sign in to upload data")
            return _dataset_for_upload(session, actor, ref), service.new_staging(settings)
        except DatatorgError as exc:
            return exc, service.new_staging(settings)
        finally:
            session.commit()  # no transaction (nor the write turn) held while the file arrives

    checked, folder = await run_in_threadpool(check)

    def before_file(fields: dict[str, str]) -> None:
        cookie = request.cookies.get(csrf.CSRF_COOKIE, "")
        sent = request.headers.get(csrf.CSRF_HEADER) or fields.get(csrf.CSRF_FIELD, "")
        if not cookie or not hmac.compare_digest(cookie, sent):
            raise Forbidden(
                "The form has expired or did not come from this site. Reload and retry."
            )
        if isinstance(checked, Exception):
            raise checked

    received = await upload.receive(
        request, folder, settings.upload_max_bytes, before_file=before_file
    )
    assert isinstance(checked, Dataset)  # before_file raised otherwise
    dataset = checked

    def stage() -> Response:
        try:  # every refusal removes what was staged
            mode, _publish = upload.read_options(received.fields, {}, allowed=upload.PAGE_FIELDS)
            pending = service.stage_upload(
                session=session,
                settings=settings,
                dataset=dataset,
                source=received.path,
                filename=received.filename,
                mode=WriteMode(mode),
                uploaded_by=actor.user_id,
            )
        except Invalid as exc:
            shutil.rmtree(folder, ignore_errors=True)
            head = service.head(session=session, dataset_id=dataset.id)
            ctx = {
                "ds": dataset,
                "head": head,
                "errors": exc.extra.get("errors", []),
                "detail": exc.detail,
            }
            return render(request, "upload_form.html", ctx, status_code=422)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return RedirectResponse(f"/datasets/{dataset.slug}/uploads/{pending.id}", status_code=303)

    # Whole-file checks and typing take seconds for a large file: off the event loop.
    return await run_in_threadpool(stage)


def _pending(session: Any, actor: Actor, ref: str, upload_id: str) -> tuple[Dataset, PendingUpload]:
    dataset = _dataset_for_upload(session, actor, ref)
    pending = service.get_pending(session=session, dataset=dataset, upload_id=upload_id)
    if pending.status != UploadStatus.pending:
        raise NotFound("This upload is no longer pending")
    return dataset, pending


def _review(
    request: Request,
    session: Any,
    settings: Settings,
    dataset: Dataset,
    pending: PendingUpload,
    errors: list[dict[str, Any]],
    status: int = 200,
) -> Response:
    head = service.head(session=session, dataset_id=dataset.id)
    return render(
        request,
        "upload_review.html",
        {
            "ds": dataset,
            "up": pending,
            "head": head,
            "review": review.review(service.storage(settings), pending, head),
            # the current version's words for columns of the same name, offered again
            "previous": ts.fields_by_name(head.table_schema) if head else {},
            "types": list(ts.STORAGE),
            "roles": ts.ROLES,
            "errors": errors,
            "append": pending.mode == WriteMode.append,
            "marker_meaning": missing.meaning,
        },
        status_code=status,
    )


@router.get(
    "/datasets/{ref}/uploads/{upload_id}",
    dependencies=[perm.org(catalog_deps.dataset, Role.publisher, person=True, hide=True)],
)
def upload_review(
    ref: str,
    upload_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: UserActorDep,
) -> Response:
    """The validation report, sample rows, what changes, and the schema ready to adjust."""
    dataset, pending = _pending(session, actor, ref, upload_id)
    return _review(request, session, settings, dataset, pending, [])


@router.post(
    "/datasets/{ref}/uploads/{upload_id}/publish",
    dependencies=[perm.org(catalog_deps.dataset, Role.publisher, person=True, hide=True)],
)
async def upload_publish(
    _: CsrfDep,  # first: a forged form is refused before anything else is looked at
    ref: str,
    upload_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: UserActorDep,
) -> Response:
    """Publish with the schema as adjusted in the form."""
    form = await request.form()

    def work() -> Response:
        dataset, pending = _pending(session, actor, ref, upload_id)
        changes: list[dict[str, Any]] = []
        if pending.mode != WriteMode.append:
            for i, field in enumerate(pending.table_schema.get("fields", [])):
                change: dict[str, Any] = {"name": field["name"]}
                for key in ("type", "role", "unit", "description", "title"):
                    value = form.get(f"{key}__{i}")
                    if isinstance(value, str):
                        change[key] = value.strip()
                changes.append(change)
        adjusted: dict[str, Any] = {"fields": changes}
        primary_key = form.get("primary_key")
        if isinstance(primary_key, str) and pending.mode != WriteMode.append:
            adjusted["primaryKey"] = primary_key.strip()
        if form.get("missing_offered") and pending.mode != WriteMode.append:
            adjusted["missingValues"] = [m for m in form.getlist("missing") if isinstance(m, str)]
        try:
            version = service.publish(
                session=session,
                settings=settings,
                pending=pending,
                changes=adjusted,
                created_by=actor.user_id,
            )
        except Invalid as exc:
            return _review(
                request,
                session,
                settings,
                dataset,
                pending,
                exc.extra.get("errors", []),
                status=422,
            )
        audit.record(
            session=session,
            actor=actor,
            action="data.publish",
            target_type="dataset",
            target_id=str(dataset.id),
            details={
                "version": version.number,
                "rows": version.added_rows,
                "mode": str(pending.mode),
            },
        )
        # the data page confirms the new version
        return RedirectResponse(
            f"/datasets/{dataset.slug}/data?published={version.number}", status_code=303
        )

    return await run_in_threadpool(work)  # the database work, off the event loop


@router.post(
    "/datasets/{ref}/uploads/{upload_id}/discard",
    dependencies=[perm.org(catalog_deps.dataset, Role.publisher, person=True, hide=True)],
)
def upload_discard(
    _: CsrfDep,
    ref: str,
    upload_id: str,
    session: SessionDep,
    settings: SettingsDep,
    actor: UserActorDep,
) -> Response:
    """Throw the pending upload away."""
    dataset, pending = _pending(session, actor, ref, upload_id)
    service.discard(session=session, settings=settings, pending=pending)
    return RedirectResponse(f"/datasets/{dataset.slug}/upload?discarded=1", status_code=303)
