"""Application assembly: a short explicit list of routers and middleware."""

from __future__ import annotations

import faulthandler
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from datatorg import __version__
from datatorg.access import ckan as access_ckan
from datatorg.access import pages as access_pages
from datatorg.access import router as access_router
from datatorg.catalog import ckan, dcat_routes
from datatorg.catalog import pages as catalog_pages
from datatorg.catalog import pages_home as catalog_home
from datatorg.catalog import router as catalog_router
from datatorg.db import writes
from datatorg.db.checkpoint import Checkpointer
from datatorg.db.engine import make_engine, make_sessionmaker
from datatorg.identity import pages as identity_pages
from datatorg.identity import pages_account as identity_account_pages
from datatorg.identity import permissions
from datatorg.identity import router as identity_router
from datatorg.identity.deps import get_actor
from datatorg.lake import duck
from datatorg.lake import load as lake_load
from datatorg.lake import pages as lake_pages
from datatorg.lake import router as lake_router
from datatorg.market import pages as market_pages
from datatorg.market import pages_mine as market_mine
from datatorg.market import router as market_router
from datatorg.outbox import router as outbox_router
from datatorg.outbox import worker as outbox_worker
from datatorg.pilots import consent_scope  # noqa: F401  (pilots tell privacy about their consents)
from datatorg.pilots import pages as pilots_pages
from datatorg.pilots import pages_kpis as pilots_kpi_pages
from datatorg.pilots import pages_pilots as pilots_pilot_pages
from datatorg.pilots import pages_portfolio as pilots_portfolio_pages
from datatorg.pilots import pages_review as pilots_review_pages
from datatorg.pilots import router as pilots_router
from datatorg.pilots import router_pilots as pilots_pilot_router
from datatorg.privacy import pages as privacy_pages
from datatorg.privacy import pages_requests as privacy_requests_pages
from datatorg.privacy import router as privacy_router
from datatorg.privacy import router_requests as privacy_requests_router
from datatorg.sensors import pages as sensors_pages
from datatorg.sensors import router as sensors_router
from datatorg.sensors.ngsi import batch as ngsi_batch
from datatorg.sensors.ngsi import errors as ngsi_errors
from datatorg.sensors.ngsi import router as ngsi_router
from datatorg.sensors.ngsi import subscriptions as ngsi_subscriptions
from datatorg.sensors.ngsi import temporal as ngsi_temporal
from datatorg.sensors.ngsi import types as ngsi_types
from datatorg.settings import Settings, get_settings
from datatorg.web import apidocs, templating
from datatorg.web import pages as shell_pages
from datatorg.web.admission import Admission
from datatorg.web.balance import Board
from datatorg.web.deps import finish_in_handler_thread
from datatorg.web.errorhandlers import install_error_handlers, register_error_face
from datatorg.web.middleware import ShellMiddleware
from datatorg.web.openapi import install_openapi
from datatorg.web.priority import PagesFirst

STATIC = Path(__file__).parent / "web" / "static"
# Routes FastAPI and Starlette make themselves, public by nature; every other route declares
# who may call it (``identity.permissions``; the route × role matrix test holds it to that).
UNDECLARED_ROUTES = ("/api/v1/openapi.json", "/static")


SWITCH_INTERVAL_S = 0.001


def _checkpointer(engine: Engine | None) -> Checkpointer | None:
    """The WAL checkpointer of the server's own SQLite file (none for PostgreSQL, or for an
    app whose caller passed the sessions)."""
    if engine is None or engine.dialect.name != "sqlite":
        return None
    path = engine.url.database
    if not path or path == ":memory:":
        return None
    return Checkpointer(path).start()


def create_app(
    settings: Settings | None = None,
    *,
    sessionmaker: Callable[[], Session] | None = None,
    write_sessionmaker: Callable[[], Session] | None = None,
) -> FastAPI:
    """The Datatorg web application for ``settings``.

    ``sessionmaker`` and ``write_sessionmaker`` make every request's control-plane session
    (reads, and requests with an unsafe method; default: sessions on an engine for
    ``settings.database_url``). Tests pass one whose sessions join a transaction they roll
    back (used for both); the app runs exactly the same code either way.
    """
    settings = settings or get_settings()
    # `kill -USR1 <worker>` writes every thread's stack to the server's log (a stalled
    # request can be diagnosed in production without stopping anything).
    faulthandler.register(signal.SIGUSR1, all_threads=True)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Enough threads that writes waiting for their turn never hold them all (settings).
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.request_threads
        # Side effects (e-mail) leave through the outbox after commit (datatorg.outbox).
        deliverer = (
            outbox_worker.start(app.state.sessionmaker, settings)
            if settings.outbox_worker
            else None
        )
        checkpointer = _checkpointer(app.state.engine)
        # The catalogs and templates before the first request, not during it (in a thread:
        # nothing blocking on the loop).
        await anyio.to_thread.run_sync(templating.warm)
        # A thread that holds a database lock (SQLite's writer turn, PostgreSQL's audit head
        # row) and gives up the GIL for each statement waits for it again behind a busy event
        # loop for up to the switch interval: 1 ms instead of Python's 5 (docs/robust.md).
        switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        try:
            yield
        finally:
            sys.setswitchinterval(switch_interval)
            if deliverer is not None:
                outbox_worker.stop(deliverer)
            if checkpointer is not None:
                checkpointer.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="Datatorg API",
        version=__version__,
        description="The data marketplace and living lab of My Digital City, Halden.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # served by web/apidocs.py with local files (the CSP allows no CDN)
        redoc_url=None,
        # Every route knows who asks (pages show it in the header; the API decides with it).
        dependencies=[Depends(get_actor)],
    )
    app.state.settings = settings
    duck.configure(
        memory_mb=settings.duckdb_memory_mb,
        threads=settings.duckdb_threads,
        temp_directory=settings.duckdb_spill_path,
        queries=settings.duckdb_queries,
    )
    if sessionmaker is None:
        # WAL checkpoints in a thread of their own, not in a request's commit (db/checkpoint.py)
        app.state.engine = make_engine(
            settings.database_url,
            write_wait_ms=settings.write_wait_ms,
            background_checkpoints=True,
        )
        # Half the request threads at most wait in line for SQLite's writer turn; the others
        # stay free for reads (datatorg.db.writes.limit_line).
        writes.limit_line(app.state.engine, settings.request_threads // 2)
        sessionmaker = make_sessionmaker(app.state.engine)
        # Requests with an unsafe method write: their transactions take the write lock first.
        write_sessionmaker = write_sessionmaker or writes.write_sessionmaker(app.state.engine)
    else:
        app.state.engine = None
    app.state.sessionmaker = sessionmaker
    app.state.write_sessionmaker = write_sessionmaker or sessionmaker

    # The rows API first: the router tries routers in order and it is the hottest path.
    app.include_router(access_router.router)
    app.include_router(shell_pages.router, dependencies=[permissions.ANYONE])  # the shell
    app.include_router(shell_pages.probes, dependencies=[permissions.PROBE])  # /healthz, /readyz
    app.include_router(access_ckan.router)  # before the catalog's /api/3/action/{name}
    app.include_router(identity_router.router)
    app.include_router(identity_pages.router)
    app.include_router(identity_account_pages.router)
    app.include_router(market_router.router)
    app.include_router(market_pages.router)
    app.include_router(catalog_router.router)
    app.include_router(dcat_routes.router)
    app.include_router(ckan.router)
    app.include_router(catalog_pages.router)
    app.include_router(lake_router.router)
    app.include_router(lake_pages.router)
    app.include_router(access_pages.router)
    # Living lab (pilots): ideas, calls, review, pilots, KPIs, results, portfolio.
    app.include_router(pilots_router.router)
    app.include_router(pilots_pilot_router.router)
    app.include_router(pilots_pages.router)
    app.include_router(pilots_review_pages.router)
    app.include_router(pilots_kpi_pages.router)  # before /pilots/{id}/{action}
    app.include_router(pilots_kpi_pages.uploads)
    app.include_router(pilots_pilot_pages.router)
    app.include_router(pilots_portfolio_pages.router)
    # privacy (issue 13): the citizen's consents, My data, requests, donations; declarations
    app.include_router(privacy_router.router)
    app.include_router(privacy_requests_router.router)
    app.include_router(privacy_pages.router)
    app.include_router(privacy_requests_pages.router)
    # The outbox for administrators (robust, issue 11): outgoing messages and their outcome.
    app.include_router(outbox_router.router)
    # What this process's DuckDB places and writer turn refused, for administrators.
    app.include_router(lake_load.router)
    # journeys: the front page, "My datasets" (a publisher's datasets, uploads to review,
    # offers), the API documentation served offline
    app.include_router(catalog_home.router)
    app.include_router(market_mine.router)
    app.include_router(apidocs.router, dependencies=[permissions.ANYONE])  # the API docs
    # sensors (issue 15): stream ingestion API and the NGSI-LD face (its own error shape)
    app.include_router(sensors_router.router)
    app.include_router(ngsi_router.router)
    app.include_router(ngsi_batch.router)
    app.include_router(ngsi_types.router)
    app.include_router(ngsi_temporal.router)
    app.include_router(ngsi_subscriptions.router)
    app.include_router(sensors_pages.api)
    app.include_router(sensors_pages.router)

    app.mount(apidocs.ASSETS_URL, apidocs.assets(), name="apidocs")  # before /static
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    install_openapi(app)  # every answer documented: problem+json errors, media types
    install_error_handlers(app)
    for prefix in ckan.PREFIXES:
        register_error_face(prefix, ckan.error_face)
    register_error_face("/ngsi-ld/", ngsi_errors.face, shell=True)
    app.add_middleware(ShellMiddleware, settings=settings)
    # Counts every interactive request at work (web/priority.py).
    app.add_middleware(PagesFirst)
    # Outermost: a few requests at work at once, the others wait their turn (web/admission.py).
    app.add_middleware(Admission, limit=settings.request_concurrency, board=Board.of_worker())
    # Handlers commit and make their JSON response in their own thread (web/deps.py: the
    # writer turn is held only for the handler's own work; no more trips to the thread pool).
    finish_in_handler_thread(app.routes)
    return app
