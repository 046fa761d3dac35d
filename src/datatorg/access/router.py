"""JSON API of the gate: rows (Datasette-style URL filters) and downloads."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, Response

from datatorg.access import (
    decision,
    engines,
    export,
    journal,
    pipeline,
    policy,
    query,
    service,
    shape,
)
from datatorg.access.engines import Page
from datatorg.db.engine import engine_of
from datatorg.errors import NotFound
from datatorg.identity import permissions as perm
from datatorg.identity.actor import Actor
from datatorg.identity.deps import ActorDep, resolve_actor
from datatorg.lake import service as lake
from datatorg.lake.schemas import VersionPage, VersionRead
from datatorg.settings import Settings
from datatorg.web import priority
from datatorg.web.deps import SessionDep, SettingsDep
from datatorg.web.direct import DirectRoute, request_session
from datatorg.web.i18n import gettext as _
from datatorg.web.i18n import ngettext
from datatorg.web.responses import FastJSONResponse

router = APIRouter(prefix="/api/v1/datasets", tags=["data"])

MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "ndjson": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def page_json(page: engines.Page, request: Request) -> dict[str, Any]:
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
    if page.min_group is not None:
        body["min_group"] = page.min_group
        body["suppressed"] = page.suppressed or 0
        body["notice"] = suppressed_notice(page.suppressed or 0, page.min_group)
    return body


def suppressed_notice(suppressed: int, min_group: int) -> str:
    """What the reader is told about small-cell suppression, in their language."""
    if not suppressed:
        return _("Groups of fewer than %(k)d people are left out; none were.") % {"k": min_group}
    return ngettext(
        "%(n)d group of fewer than %(k)d people was left out to protect them.",
        "%(n)d groups of fewer than %(k)d people were left out to protect them.",
        suppressed,
    ) % {"n": suppressed, "k": min_group}


async def rows(request: Request, ref: str) -> Response:
    """Rows of the current version, filtered with ``column__op=value`` parameters.

    Ops: exact, not, gt, gte, lt, lte, in, contains, startswith, isnull, between. Control:
    ``_col``, ``_sort``/``_sort_desc``, ``_size``, ``_next`` (cursor), ``_count``,
    ``_group_by`` + ``_agg`` (count, sum, avg, min, max, median, p50…p99, percentile_N),
    ``_bucket=hour|day|week|month[:column]``, ``_bbox=minlon,minlat,maxlon,maxlat``,
    ``_shape=arrays|objects|array|object`` and ``_nl=on`` (``access.shape``), ``_purpose``
    (the purpose of the read), ``_agreement`` (which of the caller's agreements on the
    dataset the read is under, when they hold several). Any other ``_``-parameter is a 400
    listing the known ones.
    Without ``_sort`` rows come in the dataset's default order: its time column (when the
    reader sees it), then storage order.

    The hottest read path, a direct route (``datatorg.web.direct``), through the gate's
    pipeline (``access/pipeline.py``) in three steps:

    1. the caller, the dataset, the decision, the row policy and the parameters, on the
       event loop when the control plane is the embedded SQLite file (its statements are
       local calls of a few dozen microseconds, cheaper than a trip to a worker thread), else
       in the thread pool; a quota reservation (a write) always in the thread pool;
    2. the page, on the loop when the version's row index answers it within
       ``engines.FAST_BUDGET_MS``, else in the thread pool with the full time budget;
    3. the audit record, group-committed with the other reads of this worker
       (``journal.LoopBatcher``) before the response is sent.

    With a control plane across the network (PostgreSQL) the three steps take one trip to the
    thread pool together, and the record is group-committed by the process's ``Journal``.
    """
    await priority.bulk_read(request)  # page views on this worker first (web/priority.py)
    items, stated = pipeline.split_stated(request.query_params.multi_items())
    settings = request.app.state.settings

    def decide() -> tuple[pipeline.Read, query.Query]:
        with request_session(request) as session:
            actor = resolve_actor(request, session)
            dataset, version = service.dataset_for_read(session=session, ref=ref)
            r = pipeline.begin(
                session=session,
                settings=settings,
                actor=actor,
                dataset=dataset,
                channel="api",
                purpose=stated.purpose,
                agreement_id=stated.agreement_id,
                head_version=version,
            )
            return r, r.parse(session, items)

    def reserve(r: pipeline.Read, q: query.Query) -> None:
        with request_session(request) as session:
            pipeline.reserve(session, r, q)

    def release(r: pipeline.Read) -> None:
        with request_session(request) as session:
            pipeline.release(session, r)

    def fetch(r: pipeline.Read, q: query.Query) -> Page:
        try:
            return engines.fetch(r, q)
        except BaseException:
            if pipeline.holds_quota(r):
                release(r)
            raise

    def off_loop() -> Page:
        r, q = decide()
        if r.decision.quota:
            reserve(r, q)
        else:
            pipeline.hold(r)
        try:
            page = engines.fetch(r, q)
            with request_session(request) as session:
                journal.append(session, item_of(r, q, page))
        except BaseException:
            if pipeline.holds_quota(r):
                release(r)
            raise
        return page

    if not _embedded(request):
        # A database across the network: the decision, the reservation, the page and the
        # audit record (group-committed with the reads of the worker's other threads) in one
        # trip to the thread pool; each trip waits its turn behind the worker's requests.
        page = await run_in_threadpool(off_loop)
        return shape.shaped(page, page_json(page, request))
    try:
        r, q = decide()
    except journal.WouldWait:  # a refusal to record while another write holds the lock
        r, q = await run_in_threadpool(decide)
    if r.decision.quota:
        await run_in_threadpool(reserve, r, q)
    else:
        pipeline.hold(r)
    try:
        fast = engines.fetch(r, q, fast=True)
    except BaseException:
        if pipeline.holds_quota(r):
            await run_in_threadpool(release, r)
        raise
    page = fast if fast is not None else await run_in_threadpool(fetch, r, q)
    try:
        await journal.loop_batcher(request.app.state.sessionmaker).append(item_of(r, q, page))
    except BaseException:
        if pipeline.holds_quota(r):
            await run_in_threadpool(release, r)
        raise
    return shape.shaped(page, page_json(page, request))


def item_of(r: pipeline.Read, q: query.Query, page: Page) -> journal.Item:
    """The audit record of a page read."""
    return r.item(len(page.rows), engines.page_bytes(r, page), q.is_aggregate, page.subject_keys)


def _embedded(request: Request) -> bool:
    """Whether the control plane is a SQLite file (whose calls may run on the event loop)."""
    found: bool | None = getattr(request.app.state, "embedded_control_plane", None)
    if found is None:
        with request.app.state.sessionmaker() as session:
            found = engine_of(session).dialect.name == "sqlite"
        request.app.state.embedded_control_plane = found
    return found


for _path in ("/{ref}/rows", "/{ref}/rows.json"):  # Datasette's .json suffix names the same
    router.add_api_route(
        _path,
        rows,
        methods=["GET"],
        route_class_override=DirectRoute,
        response_class=FastJSONResponse,
        dependencies=[perm.GATE],  # declared; a direct route's pipeline decides itself
    )


@router.get("/{ref}/rows.csv", dependencies=[perm.GATE])
def rows_csv(
    ref: str, request: Request, session: SessionDep, settings: SettingsDep, actor: ActorDep
) -> Response:
    """Datasette's ``.csv`` suffix: the filtered rows as CSV, as ``download.csv`` gives them
    (every matching row unless ``_size``, like Datasette's ``_stream=on``)."""
    return _download(session, settings, actor, ref, "csv", request)


async def download(request: Request, ref: str, fmt: str) -> Response:
    """The filtered rows as a file: csv, json, ndjson, parquet or xlsx (streamed, any size).

    A direct route (``datatorg.web.direct``): the caller, the export through the gate's
    pipeline and, for a file of at most ``IN_MEMORY_BYTES``, reading it back, in one trip to
    the thread pool."""
    settings = request.app.state.settings

    def work() -> Response:
        with request_session(request) as session:
            actor = resolve_actor(request, session)
            return _download(session, settings, actor, ref, fmt, request)

    return await run_in_threadpool(work)


router.add_api_route(
    "/{ref}/download.{fmt}",
    download,
    methods=["GET"],
    route_class_override=DirectRoute,
    response_class=FileResponse,
    dependencies=[perm.GATE],  # declared; a direct route's pipeline decides itself
)

# A download up to this size is answered from memory: a file response reads, stats and closes
# its file in trips to the thread pool, each queued behind the worker's other requests (in a
# 50-connection soak a small CSV download took twice the median request). A request for a
# byte range gets the file response, which answers it (206).
IN_MEMORY_BYTES = 256 * 1024


def _download(
    session: Session,
    settings: Settings,
    actor: Actor,
    ref: str,
    fmt: str,
    request: Request,
) -> Response:
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
        stat = os.stat(name)
        if stat.st_size <= IN_MEMORY_BYTES and "range" not in request.headers:
            content = Path(name).read_bytes()
            os.unlink(name)
            response = Response(content, media_type=MEDIA[fmt])
            response.headers["content-disposition"] = attachment(f"{dataset.slug}.{fmt}")
            return response
    except BaseException:
        if os.path.exists(name):
            os.unlink(name)
        raise
    return FileResponse(
        name,
        media_type=MEDIA[fmt],
        filename=f"{dataset.slug}.{fmt}",
        stat_result=stat,
        background=BackgroundTask(os.unlink, name),
    )


def attachment(filename: str) -> str:
    """The ``Content-Disposition`` of a download named ``filename``, as ``FileResponse``
    writes it (RFC 6266: ``filename*`` when the name needs escaping)."""
    quoted = quote(filename)
    if quoted != filename:
        return f"attachment; filename*=utf-8''{quoted}"
    return f'attachment; filename="{filename}"'


@router.get("/{ref}/versions", dependencies=[perm.GATE])
def list_versions(ref: str, session: SessionDep, actor: ActorDep) -> VersionPage:
    """Every version with its row count and schema changes, newest first: for callers who
    may read the dataset's contents (decided by the gate; others are refused as for a read),
    each schema as the caller's row policy shows it."""
    dataset = service.get_dataset(session=session, ref=ref)
    d = decision.decide(session=session, actor=actor, dataset=dataset, channel="versions")
    versions = lake.versions(session=session, dataset_id=dataset.id)
    policies = [
        policy.build(
            schema=v.table_schema, identifiers=d.identifiers, allowed_columns=d.allowed_columns
        )
        for v in versions
    ]
    seen = {c for p in policies for c in p.columns}  # what the caller sees in any version
    out: list[VersionRead] = []
    for v, pol in zip(versions, policies, strict=True):
        read = VersionRead.model_validate(v)
        read.table_schema = pol.schema | {
            k: val for k, val in v.table_schema.items() if k not in ("fields", "primaryKey")
        }
        read.schema_changes = [c for c in v.schema_changes if c.get("column") in seen]
        out.append(read)
    head = lake.head(session=session, dataset_id=dataset.id)
    return VersionPage(dataset_id=dataset.id, current=head.number if head else None, versions=out)
