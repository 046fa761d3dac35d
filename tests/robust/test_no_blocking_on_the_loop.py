"""Nothing blocking runs on the event loop: an ``async def`` in ``src/datatorg`` may await,
and may hand work to the thread pool, but may not itself call the database (a session or a
domain service), DuckDB, SQLite, SMTP, files or subprocesses.

How it decides, statically: in the body of every ``async def`` (nested ``def``s and lambdas
excluded: they are what the thread pool runs), every call that is not awaited and not the
function handed to ``run_in_threadpool``/``to_thread.run_sync`` is checked. It is blocking if
it is a method of a database session (a name ``session``/``s``/``db`` or a parameter typed
``Session``/``SessionDep``), a function of a ``datatorg`` module other than the pure ones in
``PURE`` (services, policies that read the database, mail), or a known blocking library call
(``open``, ``time.sleep``, ``duckdb``, ``sqlite3``, ``smtplib``, ``subprocess``, ``shutil``).

``ALLOWED`` lists the measured exceptions, each with its reason. A new route that must be
``async`` (it reads a form or streams a body) awaits what it reads, then does its work in
``await run_in_threadpool(work)``; everything else is a plain ``def`` handler.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).parent.parent.parent / "src" / "datatorg"

# datatorg modules whose functions do no I/O (pure computation, request parsing, rendering)
PURE = {
    "datatorg.errors",
    "datatorg.web.csrf",
    "datatorg.web.i18n",
    "datatorg.web.templating",  # (the menu's counts are skipped on the loop: web/menu.py)
    "datatorg.web.urls",  # the request's public address in a context variable
    "datatorg.web.responses",
    "datatorg.web.errorhandlers",
    "datatorg.identity.actor",
    "datatorg.identity.policies",
    "datatorg.access.policies",
    "datatorg.catalog.policies",
    "datatorg.market.policies",
    "datatorg.catalog.forms",
    "datatorg.lake.router",  # parse_mode, check_api_csrf: request parsing only
    "datatorg.market.vocab",
    "datatorg.catalog.vocab",
    "datatorg.logging",
    "datatorg.access.query",  # URL parsing
    "datatorg.db.writes.WriteBusy",  # an exception, made not raised
    "datatorg.db.waits",  # a context variable: a request's way to give up its admission place
    "datatorg.db.calls",  # a context variable: a request's client gone, its DuckDB account
    "datatorg.pilots.upload.check_form_csrf",  # compares the form's token with the cookie
    "datatorg.privacy.pages.sign_in",  # a redirect response
    "datatorg.sensors.ngsi.errors",  # NGSI-LD ProblemDetails exception classes
    "datatorg.sensors.ngsi.context",  # @context terms from bundled files read at import
    "datatorg.sensors.ngsi.http",  # media types, the CSRF header check, options parsing
}
PURE_NAMES = {"N_", "_"}  # translation markers, wherever they are imported from
PURE_SUFFIXES = (".schemas", ".models")  # Pydantic validation and ORM constructors: no I/O
BLOCKING_ROOTS = {"open", "duckdb", "sqlite3", "smtplib", "subprocess", "shutil", "requests"}
BLOCKING_CALLS = {("time", "sleep"), ("os", "remove"), ("os", "unlink"), ("os", "replace")}
SESSION_NAMES = {"session", "db", "s"}
THREAD_HANDOFF = {"run_in_threadpool", "run_sync", "to_thread", "run_in_executor"}

# "module.function": why it may call what the rule would flag (measured, see docs/robust.md)
ALLOWED = {
    "datatorg.access.router.rows": (
        "the rows API decides on the loop only for a SQLite control plane: its statements are "
        "local calls of ~35 µs, cheaper than the trip to a worker thread (docs/performance.md); "
        "audit commits on the loop only try the write turn (never wait), PostgreSQL and every "
        "slow read go to the thread pool"
    ),
    "datatorg.web.deps.get_session": (
        "opening a session does no I/O; commit, rollback and close go to the thread pool"
    ),
    "datatorg.lake.upload.receive": (
        "removes the staging folder of a refused upload (rare, small); the received chunks "
        "(at most 64 KiB each) are written to the local staging file by the parser's "
        "callbacks on the loop too: a page-cache write of microseconds, where a thread hop per "
        "chunk would cost more"
    ),
    "datatorg.app.lifespan": "starts and stops the outbox's deliverer thread, once per process",
}


def _imports(tree: ast.Module) -> dict[str, str]:
    """Local name → dotted origin (``module`` or ``module.attr``)."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                names[(a.asname or a.name).split(".")[0]] = (
                    a.name if a.asname else a.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                names[a.asname or a.name] = f"{node.module}.{a.name}"
    return names


def _root(func: ast.expr) -> tuple[str, list[str]]:
    parts: list[str] = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if isinstance(func, ast.Name):
        return func.id, list(reversed(parts))
    return "", list(reversed(parts))


def _body_calls(fn: ast.AsyncFunctionDef) -> Iterator[ast.Call]:
    """Calls in ``fn``'s own body that run on the loop (not awaited, not handed off)."""
    skip: set[int] = set()

    def visit(node: ast.AST) -> Iterator[ast.Call]:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) and node is not fn:
            return
        if isinstance(node, ast.Await) and isinstance(node.value, ast.Call):
            skip.add(id(node.value))
            call = node.value
            name, parts = _root(call.func)
            if (parts[-1:] or [name])[0] in THREAD_HANDOFF:
                for arg in call.args[1:]:
                    yield from visit(arg)
                return
        if isinstance(node, ast.Call) and id(node) not in skip:
            yield node
        for child in ast.iter_child_nodes(node):
            yield from visit(child)

    for stmt in fn.body:
        yield from visit(stmt)


def _session_params(fn: ast.AsyncFunctionDef) -> set[str]:
    out = set()
    for arg in fn.args.args + fn.args.kwonlyargs:
        ann = ast.unparse(arg.annotation) if arg.annotation else ""
        if "Session" in ann:
            out.add(arg.arg)
    return out


def blocking_calls() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        module = "datatorg." + ".".join(path.relative_to(SRC).with_suffix("").parts)
        module = module.removesuffix(".__init__")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imports = _imports(tree)
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.AsyncFunctionDef):
                continue
            sessions = SESSION_NAMES | _session_params(fn)
            for call in _body_calls(fn):
                name, parts = _root(call.func)
                origin = imports.get(name, "")
                what = ast.unparse(call.func)
                blocking = (
                    (name in sessions and parts)
                    or name in BLOCKING_ROOTS
                    or origin.split(".")[0] in BLOCKING_ROOTS
                    or (name, (parts or [""])[0]) in BLOCKING_CALLS
                    or (
                        name not in PURE_NAMES
                        and origin.startswith("datatorg.")
                        and origin not in PURE
                        and origin.rsplit(".", 1)[0] not in PURE
                        and not origin.endswith(PURE_SUFFIXES)
                        and not origin.rsplit(".", 1)[0].endswith(PURE_SUFFIXES)
                    )
                )
                if blocking:
                    found.setdefault(f"{module}.{fn.name}", []).append(
                        f"{what} (line {call.lineno})"
                    )
    return found


def test_no_async_def_calls_blocking_work() -> None:
    found = blocking_calls()
    unexpected = {k: v for k, v in found.items() if k not in ALLOWED}
    assert unexpected == {}, "blocking calls on the event loop: " + repr(unexpected)


def test_every_allowed_exception_is_still_needed() -> None:
    found = blocking_calls()
    assert sorted(set(ALLOWED) - set(found)) == []


def test_the_rule_catches_blocking_calls(tmp_path: Path, monkeypatch: object) -> None:
    sample = ast.parse(
        "from datatorg.catalog import service\n"
        "import duckdb, time\n"
        "async def handler(request, session):\n"
        "    form = await request.form()\n"
        "    service.get_dataset(session=session, ref='x')\n"
        "    session.commit()\n"
        "    duckdb.connect()\n"
        "    time.sleep(1)\n"
        "    def work():\n"
        "        return service.get_dataset(session=session, ref='x')\n"
        "    return await run_in_threadpool(work)\n"
    )
    fn = next(n for n in ast.walk(sample) if isinstance(n, ast.AsyncFunctionDef))
    calls = [ast.unparse(c.func) for c in _body_calls(fn)]
    assert "service.get_dataset" in calls and "session.commit" in calls
    assert "duckdb.connect" in calls and "time.sleep" in calls
    assert "request.form" not in calls  # awaited
    assert calls.count("service.get_dataset") == 1  # the nested def runs in the thread pool
