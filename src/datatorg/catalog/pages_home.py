"""The front page: what the square is, its themes with counts, the newest and the most used
datasets, and the way in for each kind of visitor.

The counts and lists come from the catalog's own search (facets) and the audit log's reads
of the last 30 days; the most-used list is cached for a few minutes per process.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse, Response

from datatorg.audit import service as audit
from datatorg.catalog import present, service
from datatorg.catalog.finder import SearchQuery
from datatorg.catalog.hits import SearchHit
from datatorg.catalog.models import Dataset, DatasetStatus
from datatorg.db.base import utcnow
from datatorg.identity import permissions as perm
from datatorg.identity.deps import ActorDep
from datatorg.identity.models import Organisation
from datatorg.web.deps import SessionDep
from datatorg.web.errorhandlers import wants_json
from datatorg.web.templating import render

router = APIRouter(include_in_schema=False)
MOST_USED_TTL_S = 300
_most_used_cache: dict[str, tuple[float, list[tuple[str, int]]]] = {}


def _most_used(session: Session) -> list[tuple[str, int]]:
    """The most read datasets, kept for a few minutes per process.

    Counting them aggregates every granted read of the last 30 days, so the answer is kept
    whatever is published meanwhile (the page shows only those still published, and a
    dataset published a minute ago has no reads to count yet). It used to be kept per
    catalog version: every publish then made the next front page of each worker count the
    whole month again (with 60,000 reads logged, 250 ms instead of 25).
    """
    now = time.monotonic()
    hit = _most_used_cache.get("all")
    if hit is not None and now - hit[0] < MOST_USED_TTL_S:
        return hit[1]
    found = audit.most_read(session=session, since=utcnow() - timedelta(days=30), limit=12)
    _most_used_cache.clear()
    if found:  # an empty list is not kept: a new site's first reads show at once
        _most_used_cache["all"] = (now, found)
    return found


def _published(session: Session, counted: list[tuple[str, int]]) -> list[tuple[Dataset, int]]:
    """The counted datasets that are still published, with their reads."""
    used: list[tuple[Dataset, int]] = []
    for target, reads in counted:
        try:
            ds = session.get(Dataset, uuid.UUID(target))
        except ValueError:
            continue
        if ds is not None and ds.status == DatasetStatus.published:
            used.append((ds, reads))
    return used


def front_page_facts(session: Session, actor: Any) -> dict[str, Any]:
    """Themes with counts, totals, the newest and the most used published datasets."""
    result = service.search_datasets(
        session=session, actor=actor, query=SearchQuery(limit=0, sort="published")
    )
    page = present.page(session, result, page=1, per_page=1, sort="published")
    newest = list(
        session.scalars(
            select(Dataset)
            .where(Dataset.status == DatasetStatus.published)
            .order_by(Dataset.published_at.desc(), Dataset.slug)
            .limit(5)
        )
    )
    orgs = service.organisations_by_id(session=session, ids={d.publisher_id for d in newest})
    used = _published(session, _most_used(session))
    if not used and _most_used_cache:
        # none of the kept list is published any more (withdrawn, or another database's):
        # count again rather than show nothing for minutes
        _most_used_cache.clear()
        used = _published(session, _most_used(session))
    open_count = next(
        (f.count for f in page.facets.get("access_rights", []) if f.value == "PUBLIC"), 0
    )
    return {
        "total": result.total,
        "open_count": open_count,
        "org_count": int(session.scalar(select(func.count()).select_from(Organisation)) or 0),
        "themes": sorted(page.facets.get("theme", []), key=lambda f: (-f.count, f.label)),
        "newest": [present.summary(SearchHit.of(d), orgs.get(d.publisher_id)) for d in newest],
        "most_used": [(present.summary(SearchHit.of(d), None), n) for d, n in used[:5]],
    }


@router.get("/", dependencies=[perm.ANYONE])
def home(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    """The front page (its JSON twin gives the same facts)."""
    facts = front_page_facts(session, actor)
    if wants_json(request):
        return JSONResponse(
            {
                "datasets": facts["total"],
                "open_datasets": facts["open_count"],
                "organisations": facts["org_count"],
                "themes": [t.model_dump() for t in facts["themes"]],
                "newest": [d.model_dump(mode="json") for d in facts["newest"]],
                "most_used": [
                    {"dataset": d.model_dump(mode="json"), "reads_30_days": n}
                    for d, n in facts["most_used"]
                ],
            }
        )
    return render(request, "home.html", facts)
