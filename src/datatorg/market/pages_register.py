"""The public register: ``/register`` (HTML), ``/register.json`` and ``/register.csv``, no login."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from datatorg.identity import permissions as perm
from datatorg.market import register
from datatorg.market.schemas import RegisterPage
from datatorg.web import charts, formatting
from datatorg.web.deps import SessionDep
from datatorg.web.i18n import _
from datatorg.web.templating import render

router = APIRouter(include_in_schema=False)

PER_PAGE = 25
Q = Query("", max_length=100)
PAGE = Query(1, ge=1, le=100_000)


@router.get("/register", dependencies=[perm.ANYONE])
def register_page(request: Request, session: SessionDep, q: str = Q, page: int = PAGE) -> Response:
    """Who receives which non-open data, for which purpose — readable by anyone."""
    result = register.search(session=session, q=q, page=page, per_page=PER_PAGE)
    series = register.sharing_over_time(session=session)
    chart = charts.bar_chart(
        [(formatting.day(f"{m}-01", fmt="MMM y"), n) for m, n in series],
        title=_("Agreements in force per month"),
        value_title=_("Agreements in force"),
        ident="register",
        digits=0,
    )
    return render(
        request,
        "market/register.html",
        {
            "result": result,
            "q": q,
            "series": series,
            "chart": chart,
            "pages": max(1, -(-result.total // PER_PAGE)),
        },
    )


@router.get("/register.json", dependencies=[perm.ANYONE])
def register_json(session: SessionDep, q: str = Q, page: int = PAGE) -> RegisterPage:
    """The register as JSON (the same page of entries as ``/register``)."""
    return register.search(session=session, q=q, page=page, per_page=PER_PAGE)


@router.get("/register.csv", dependencies=[perm.ANYONE])
def register_csv(session: SessionDep, q: str = Q) -> Response:
    """The whole register (or the matches for ``q``) as CSV."""
    body = register.to_csv(register.all_entries(session=session, q=q))
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="register.csv"'},
    )
