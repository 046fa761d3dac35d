"""JSON API of the gate: rows (Datasette-style URL filters) and downloads."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, Response

from datatorg.access import export, journal, service, shape
from datatorg.catalog.models import DatasetFacts
from datatorg.errors import NotFound
from datatorg.identity.actor import Actor
from datatorg.identity.deps import ActorDep, resolve_actor
from datatorg.web.deps import SessionDep, SettingsDep, get_session
from datatorg.web.direct import DirectRoute, request_session
from datatorg.web.responses import FastJSONResponse

router = APIRouter(prefix="/api/v1/datasets", tags=["data"])

MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "ndjson": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def page_json(page: service.Page, request: Request) -> dict[str, Any]:
    """The JSON body of a rows page (shared by the API and the data page's JSON twin)."""
    next_url = None
    if page.next:
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "_next"]
        params.append(("_next", page.next))
        next_url = f"{request.url.path}?{urlencode(params)}"
    body: dict[str, Any] = {
        "columns": page.columns,
        "rows": page.rows,
        "truncated": page.truncated,
        "next": page.next,
        "next_url": next_url,
        "version": page.version,
    }
    if page.count is not None:
        body["count"] = page.count
    return body


async def rows(request: Request, ref: str) -> Response:
    """Rows of the current version, filtered with ``column__op=value`` parameters.

    Ops: exact, not, gt, gte, lt, lte, in, contains, startswith, isnull, between. Control:
    ``_col``, ``_sort``/``_sort_desc``, ``_size``, ``_next`` (cursor), ``_count``,
    ``_group_by`` + ``_agg`` (count, sum, avg, min, max, median, p50…p99, percentile_N),
    ``_bucket=hour|day|week|month[:column]``, ``_bbox=minlon,minlat,maxlon,maxlat``,
    ``_shape=arrays|objects|array|object`` and ``_nl=on`` (``access.shape``). Any other
    ``_``-parameter is a 400 listing the known ones.

    The hottest read path, a direct route (``datatorg.web.direct``) in three steps:

    1. the caller, the dataset and the gate's decision, on the event loop when the control
       plane is the embedded SQLite file (its statements are local calls of a few dozen
       microseconds, cheaper than a trip to a worker thread), else in the thread pool;
    2. the page, on the loop when the version's row index answers it within
       ``service.FAST_BUDGET_MS``, else in the thread pool with the full time budget;
    3. the audit record, group-committed with the other reads of this worker
       (``journal.LoopBatcher``) before the response is sent.
    """
    items = list(request.query_params.multi_items())
    settings = request.app.state.settings
    shared = request.app.dependency_overrides.get(get_session) is not None  # tests

    def decide() -> tuple[Actor, DatasetFacts, service.Prepared] | service.Page:
        with request_session(request) as session:
            actor = resolve_actor(request, session)
            dataset, version = service.dataset_for_read(session=session, ref=ref)
            prepared = service.prepare(
                session=session,
                settings=settings,
                actor=actor,
                dataset=dataset,
                items=items,
                channel="api",
                head_version=version,
            )
            if shared:  # the test's session: read and record in it, as the other routes do
                page = service.fetch(settings, prepared)
                journal.append(session, service.page_item(actor, dataset, prepared, "api", page))
                return page
            return actor, dataset, prepared

    if _embedded(request):
        try:
            decided = decide()
        except journal.WouldWait:  # a refusal to record while another write holds the lock
            decided = await run_in_threadpool(decide)
    else:
        decided = await run_in_threadpool(decide)
    if isinstance(decided, service.Page):
        return shape.shaped(decided, page_json(decided, request))
    actor, dataset, prepared = decided
    page = service.fetch(settings, prepared, fast=True)
    if page is None:
        page = await run_in_threadpool(service.fetch, settings, prepared)
    item = service.page_item(actor, dataset, prepared, "api", page)
    await journal.loop_batcher(request.app.state.sessionmaker).append(item)
    return shape.shaped(page, page_json(page, request))


def _embedded(request: Request) -> bool:
    """Whether the control plane is a SQLite file (whose calls may run on the event loop)."""
    found: bool | None = getattr(request.app.state, "embedded_control_plane", None)
    if found is None:
        engine = request.app.state.sessionmaker.kw["bind"]
        found = engine.dialect.name == "sqlite"
        request.app.state.embedded_control_plane = found
    return found


for _path in ("/{ref}/rows", "/{ref}/rows.json"):  # Datasette's .json suffix names the same
    router.add_api_route(
        _path,
        rows,
        methods=["GET"],
        route_class_override=DirectRoute,
        response_class=FastJSONResponse,
    )


@router.get("/{ref}/rows.csv")
def rows_csv(
    ref: str, request: Request, session: SessionDep, settings: SettingsDep, actor: ActorDep
) -> FileResponse:
    """Datasette's ``.csv`` suffix: the filtered rows as CSV, as ``download.csv`` gives them
    (every matching row unless ``_size``, like Datasette's ``_stream=on``)."""
    return download(ref, "csv", request, session, settings, actor)


@router.get("/{ref}/download.{fmt}")
def download(
    ref: str,
    fmt: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: ActorDep,
) -> FileResponse:
    """The filtered rows as a file: csv, json, ndjson, parquet or xlsx (streamed, any size)."""
    if fmt not in MEDIA:
        raise NotFound("Download formats: " + ", ".join(MEDIA))
    dataset = service.get_dataset(session=session, ref=ref)
    fd, name = tempfile.mkstemp(prefix="datatorg-dl-", suffix="." + fmt)
    os.close(fd)
    try:
        export.export(
            session=session,
            settings=settings,
            actor=actor,
            dataset=dataset,
            items=list(request.query_params.multi_items()),
            fmt=fmt,
            target=Path(name),
        )
    except BaseException:
        os.unlink(name)
        raise
    return FileResponse(
        name,
        media_type=MEDIA[fmt],
        filename=f"{dataset.slug}.{fmt}",
        background=BackgroundTask(os.unlink, name),
    )
