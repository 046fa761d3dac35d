"""DCAT-AP-NO endpoints: ``/catalog.{ttl,rdf,jsonld}``, ``/dataset/{ref}.{ttl,rdf,jsonld}``,
and content negotiation on ``/catalog`` and ``/dataset/{ref}`` (the dataset IRIs)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from rdflib import Graph
from starlette.responses import RedirectResponse, Response

from datatorg.catalog import dcat, service
from datatorg.catalog.models import DatasetStatus
from datatorg.errors import NotFound
from datatorg.identity import permissions as perm
from datatorg.identity.deps import ActorDep
from datatorg.web.deps import SessionDep
from datatorg.web.templating import render
from datatorg.web.urls import public_base

router = APIRouter(tags=["dcat"])


def negotiate(accept: str) -> str | None:
    """The RDF content type the client prefers, or None for HTML."""
    best: tuple[float, str] | None = None
    for part in accept.split(","):
        ctype, _sep, params = part.strip().partition(";")
        ctype = ctype.strip().lower()
        quality = 1.0
        for p in params.split(";"):
            if p.strip().startswith("q="):
                try:
                    quality = float(p.strip()[2:])
                except ValueError:
                    quality = 0.0
        if ctype == "application/json":
            ctype = "application/ld+json"
        if ctype in dcat.SERIALISATIONS or ctype == "text/html":
            if best is None or quality > best[0]:
                best = (quality, ctype)
    if best is None or best[1] == "text/html":
        return None
    return best[1]


def _rdf(g: Graph, ctype: str) -> Response:
    fmt, _ext = dcat.SERIALISATIONS[ctype]
    return Response(
        dcat.serialise(g, fmt),
        media_type=ctype,
        headers={"Vary": "Accept", "Access-Control-Allow-Origin": "*"},
    )


def _catalog(session: SessionDep, base_url: str) -> Graph:
    home = service.get_organisation(session=session, ref=dcat.HOME_ORG)
    return dcat.catalog_graph(session, base_url, service.published_datasets(session=session), home)


@router.get("/catalog.{ext}", dependencies=[perm.ANYONE])
def catalog_file(request: Request, session: SessionDep, ext: str) -> Response:
    """The whole catalog as Turtle, RDF/XML or JSON-LD."""
    if ext not in dcat.BY_EXTENSION:
        raise NotFound("Unknown RDF format; use .ttl, .rdf or .jsonld")
    return _rdf(_catalog(session, public_base(request)), dcat.BY_EXTENSION[ext][0])


@router.get("/catalog", dependencies=[perm.ANYONE])
def catalog_negotiated(request: Request, session: SessionDep) -> Response:
    """The catalog IRI: RDF by Accept header (Turtle by default); a browser gets a page that
    explains the machine-readable catalog and links its forms."""
    ctype = negotiate(request.headers.get("accept", ""))
    if ctype is None and "text/html" in request.headers.get("accept", ""):
        count = len(service.published_datasets(session=session))
        return render(request, "catalog/machine.html", {"count": count})
    return _rdf(_catalog(session, public_base(request)), ctype or "text/turtle")


def _dataset_graph(session: SessionDep, actor: ActorDep, base_url: str, ref: str) -> Graph:
    dataset = service.get_visible_dataset(session=session, actor=actor, ref=ref)
    if dataset.status == DatasetStatus.draft:
        raise NotFound("No such dataset")
    return dcat.dataset_graph(session, base_url, dataset)


@router.get("/dataset/{ref}.{ext}", dependencies=[perm.ANYONE])
def dataset_file(
    request: Request, session: SessionDep, actor: ActorDep, ref: str, ext: str
) -> Response:
    """One dataset's DCAT description as Turtle, RDF/XML or JSON-LD."""
    if ext not in dcat.BY_EXTENSION:
        raise NotFound("Unknown RDF format; use .ttl, .rdf or .jsonld")
    graph = _dataset_graph(session, actor, public_base(request), ref)
    return _rdf(graph, dcat.BY_EXTENSION[ext][0])


@router.get("/dataset/{ref}", dependencies=[perm.ANYONE])
def dataset_negotiated(
    request: Request, session: SessionDep, actor: ActorDep, ref: str
) -> Response:
    """The dataset IRI: RDF by Accept header, else a redirect to the dataset page."""
    ctype = negotiate(request.headers.get("accept", ""))
    dataset = service.get_visible_dataset(session=session, actor=actor, ref=ref)
    if ctype is None:
        return RedirectResponse(f"/datasets/{dataset.slug}", status_code=303)
    return _rdf(_dataset_graph(session, actor, public_base(request), ref), ctype)
