"""The public portfolio of ideas and pilots, with its map of Halden (twin:
``/api/v1/portfolio``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from datatorg.identity import permissions as perm
from datatorg.pilots import geo, portfolio
from datatorg.pilots.forms import page
from datatorg.pilots.models import Domain, SubmitterKind
from datatorg.web.deps import SessionDep
from datatorg.web.i18n import gettext as _

router = APIRouter(include_in_schema=False)

PageNo = Annotated[int, Query(ge=1, le=10_000, alias="page")]
PER_PAGE = 20


# --- portfolio ----------------------------------------------------------------------------


@router.get("/portfolio", dependencies=[perm.ANYONE])
def portfolio_page(
    request: Request,
    session: SessionDep,
    status: Annotated[list[str] | None, Query(max_length=8)] = None,
    domain: Annotated[list[Domain] | None, Query(max_length=10)] = None,
    submitter_kind: Annotated[list[SubmitterKind] | None, Query(max_length=5)] = None,
    sdg: Annotated[int | None, Query(ge=1, le=17)] = None,
    page_no: PageNo = 1,
) -> Response:
    """Ideas and pilots, filterable, on a map of Halden (twin: ``/api/v1/portfolio``)."""
    statuses = portfolio.check_statuses(status)
    found = portfolio.items(
        session=session, statuses=statuses, domains=domain, kinds=submitter_kind, sdg=sdg
    )
    counts = portfolio.status_counts(session=session, domains=domain, kinds=submitter_kind, sdg=sdg)
    the_map = geo.halden_map(
        portfolio.markers(found),
        title=_("Map of Halden with the ideas and pilots shown"),
        desc=_("Round red dots are ideas, blue squares are pilots. The list below has them all."),
    )
    total = len(found)
    return page(
        request,
        "pilots/portfolio.html",
        {
            "items": [i.as_dict() for i in found[(page_no - 1) * PER_PAGE : page_no * PER_PAGE]],
            "total": total,
            "page": page_no,
            "pages": max(1, -(-total // PER_PAGE)),
            "counts": counts,
            "statuses": [(s, portfolio.status_label(s)) for s in portfolio.STATUSES],
            "chosen": {
                "status": statuses or [],
                "domain": [d.value for d in domain or []],
                "submitter_kind": [k.value for k in submitter_kind or []],
                "sdg": str(sdg or ""),
            },
            "map": the_map,
        },
    )
