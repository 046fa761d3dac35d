""" "My datasets": a publisher's datasets with their contents, uploads waiting for review,
offers, and offers that name columns a dataset no longer has.

JSON twin: the same rows with ``Accept: application/json``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select
from starlette.responses import JSONResponse, Response

from datatorg.catalog.models import Dataset
from datatorg.identity import permissions as perm
from datatorg.identity.deps import UserActorDep
from datatorg.identity.models import Role
from datatorg.lake import service as lake
from datatorg.lake.models import PendingUpload, UploadStatus
from datatorg.market import present
from datatorg.market import service as market
from datatorg.web.deps import SessionDep
from datatorg.web.errorhandlers import wants_json
from datatorg.web.templating import render

router = APIRouter(include_in_schema=False)
LIMIT = 500


@router.get("/my/datasets", dependencies=[perm.PERSON])
def my_datasets(request: Request, session: SessionDep, actor: UserActorDep) -> Response:
    """The datasets of the organisations where the signed-in person publishes."""
    orgs = actor.org_ids(Role.publisher)
    datasets = list(
        session.scalars(
            select(Dataset)
            .where(Dataset.publisher_id.in_(orgs))
            .order_by(Dataset.sort_title)
            .limit(LIMIT)
        )
    )
    ids = [d.id for d in datasets]
    pending: dict[Any, list[PendingUpload]] = {}
    if ids:
        for up in session.scalars(
            select(PendingUpload)
            .where(PendingUpload.dataset_id.in_(ids), PendingUpload.status == UploadStatus.pending)
            .order_by(PendingUpload.created_at.desc())
        ):
            pending.setdefault(up.dataset_id, []).append(up)
    stale = market.offers_needing_attention(session=session, dataset_ids=ids)
    rows: list[dict[str, Any]] = []
    for d in datasets:
        head = lake.head(session=session, dataset_id=d.id)
        offers, _total = market.list_offers(session=session, dataset_id=d.id, limit=50)
        rows.append(
            {
                "ds": d,
                "title": present.title(d),
                "head": head,
                "pending": pending.get(d.id, []),
                "offers": offers,
                "stale": stale.get(d.id, []),
            }
        )
    if wants_json(request):
        return JSONResponse(
            {
                "items": [
                    {
                        "slug": r["ds"].slug,
                        "title": r["title"],
                        "status": r["ds"].status.value,
                        "version": r["head"].number if r["head"] else None,
                        "rows": r["head"].row_count if r["head"] else None,
                        "pending_uploads": [str(u.id) for u in r["pending"]],
                        "offers": [str(o.id) for o in r["offers"]],
                        "stale_offers": [
                            {"offer": str(o.id), "unknown_columns": cols} for o, cols in r["stale"]
                        ],
                    }
                    for r in rows
                ]
            }
        )
    return render(
        request,
        "market/mine.html",
        {"rows": rows, "can_create": bool(orgs)},
    )
