"""Hostile references and parameters on every sensors and NGSI-LD route: a clear 4xx in the
face's error shape, never a 5xx, an engine message or a server path.

The routes are found in ``app.routes`` (every path under ``/api/v1/sensors``, ``/sensors``
and ``/ngsi-ld/``), so a new sensors route is held to the rule the day it is added. Each
path parameter in turn gets each hostile value (the others a real one), as a publisher of
the stream's organisation (so writes reach their lookups); the query parameters of the
NGSI-LD queries and the ingestion's body get them too. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

import datatorg
from tests.sensors.helpers import make_stream

FACES = ("/api/v1/sensors", "/sensors", "/ngsi-ld/")
HOSTILE = {
    "nul": "a%00b",
    "over-long": "a" * 5000,
    "latin-1": "%E6%F8%E5",  # æøå in Latin-1: not UTF-8
    "non-utf8": "%FF%FE",
    "surrogate": "%ED%A0%80",
    "sql": "x%27%20OR%20%271%27=%271;%20DROP%20TABLE%20sensor_entities;--",
    "path": "..%2F..%2Fetc%2Fpasswd",
    "backslashes": "..%5C..%5Cetc",
    "control": "abc%1B%5B2J",
    "urn-nul": "urn:ngsi-ld:AirQualityObserved:%00",
    "urn-sql": "urn:ngsi-ld:X:%27%20OR%201=1--",
    "superscript": "%C2%B2",  # "²".isdigit() is true, int("²") fails
    "huge": "9" * 30,
}
# Engine words and the server's own folders (where the code and the temporary files live).
LEAKS = (
    "Traceback",
    "sqlite3.",
    "psycopg",
    "duckdb",
    "SELECT ",
    str(Path(datatorg.__file__).parent.parent),
    tempfile.gettempdir() + os.sep,
)


def sensor_routes(app: FastAPI) -> list[tuple[str, str]]:
    def walk(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, set[str]]]:
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is not None:
                yield from walk(inner.routes, prefix + route.include_context.prefix)
            elif isinstance(route, APIRoute):
                yield prefix + route.path, route.methods

    return sorted(
        (m, path)
        for path, methods in walk(app.routes)
        if path.startswith(FACES)
        for m in methods - {"HEAD"}
    )


def _check(resp: Any, where: tuple[str, ...]) -> tuple[Any, ...] | None:
    """What is wrong with a refusal of hostile input (None: nothing)."""
    path = where[1]
    if not 400 <= resp.status_code < 500:
        return (*where, resp.status_code, resp.text[:160])
    if any(leak in resp.text for leak in LEAKS):
        return (*where, "leak", resp.text[:160])
    if path.startswith(("/api/", "/ngsi-ld/")):
        body = resp.json()
        if not (isinstance(body, dict) and body.get("title") and body.get("type")):
            return (*where, "shape", resp.text[:160])
        if path.startswith("/ngsi-ld/") and not (
            body["type"].startswith("https://uri.etsi.org/ngsi-ld/errors/")
            or resp.status_code in (401, 403)
        ):
            return (*where, "ngsi type", body["type"])
    return None


def test_the_enumeration_finds_every_sensor_face(app: FastAPI) -> None:
    found = sensor_routes(app)
    for expected in [
        ("POST", "/api/v1/sensors/streams/{ref}/observations"),
        ("GET", "/sensors/{ref}/{entity_id}"),
        ("GET", "/ngsi-ld/v1/entities/{entity_id}"),
        ("PATCH", "/ngsi-ld/v1/entities/{entity_id}/attrs/{attr}"),
        ("GET", "/ngsi-ld/v1/temporal/entities/{entity_id}"),
        ("DELETE", "/ngsi-ld/v1/subscriptions/{ident}"),
    ]:
        assert expected in found
    assert len(found) >= 30


def test_hostile_path_parameters_get_a_clear_4xx_everywhere(
    app: FastAPI, client: TestClient, session: Session
) -> None:
    s = make_stream(session, devices=1)
    real = {
        "ref": s.slug,
        "entity_id": s.devices[0],
        "attr": "no2",
        "operation": "upsert",
        "name": "datatorg.jsonld",
        "type_name": "AirQualityObserved",
        "ident": "urn:ngsi-ld:Subscription:none",
    }
    wrong = []
    calls = 0
    for method, template in sensor_routes(app):
        for param in re.findall(r"\{(\w+)\}", template):
            for name, value in HOSTILE.items():
                path = template.format(**(real | {param: value}))
                kw: dict[str, Any] = {"headers": s.headers}
                if method in ("POST", "PATCH"):
                    kw["json"] = [] if template.endswith(("observations", "{operation}")) else {}
                resp = client.request(method, path, **kw)
                calls += 1
                if (found := _check(resp, (method, template, param, name))) is not None:
                    wrong.append(found)
    assert calls > 200
    assert wrong == [], [w[:4] + (str(w[4:])[:80],) for w in wrong]


def test_hostile_query_parameters_and_bodies_get_a_clear_4xx(
    client: TestClient, session: Session
) -> None:
    s = make_stream(session, devices=1)
    queries = {
        "/ngsi-ld/v1/entities": (
            "type",
            "id",
            "idPattern",
            "q",
            "attrs",
            "georel",
            "coordinates",
            "limit",
            "offset",
        ),
        "/ngsi-ld/v1/temporal/entities": (
            "type",
            "q",
            "timerel",
            "timeAt",
            "lastN",
            "limit",
            "offset",
        ),
        f"/ngsi-ld/v1/temporal/entities/{s.devices[0]}": ("timerel", "timeAt", "attrs"),
        "/ngsi-ld/v1/types": ("details",),
        "/ngsi-ld/v1/attributes": ("details",),
        "/ngsi-ld/v1/subscriptions": ("limit", "offset"),
    }
    wrong = []
    for path, params in queries.items():
        for param in params:
            for name, value in HOSTILE.items():
                extra = "&type=AirQualityObserved" if "entities" in path and param != "type" else ""
                if path.endswith("/temporal/entities") and param not in ("timerel", "timeAt"):
                    extra += "&timerel=after&timeAt=2026-01-01T00:00:00Z"
                resp = client.get(f"{path}?{param}={value}{extra}", headers=s.headers)
                if resp.status_code == 200 and name not in ("nul", "over-long"):
                    continue  # a value that matches nothing may be an empty answer
                if (found := _check(resp, ("GET", path, param, name))) is not None:
                    wrong.append(found)
    # a hostile entity id, attribute value and body encoding in an observation batch
    obs = f"/api/v1/sensors/streams/{s.slug}/observations"
    bodies: list[dict[str, Any]] = [
        {"content": b'[{"entityId": "a\\u0000b", "observedAt": "2026-01-01T00:00:00Z"}]'},
        {"content": b'[{"entityId": "' + b"x" * 100_000 + b'"}]'},
        {"content": '[{"entityId": "æøå"}]'.encode("latin-1")},
        {"content": b"\xff\xfe[]"},
        {"json": [{"entityId": "x' OR '1'='1", "observedAt": "2026-01-01T00:00:00Z"}]},
        {"json": [{"entityId": s.devices[0], "observedAt": "2026-01-01T00:00:00Z", "no2": "=1+1"}]},
        {"json": [{"entityId": s.devices[0], "observedAt": "../../etc/passwd"}]},
    ]
    for i, body in enumerate(bodies):
        headers = s.headers | {"Content-Type": "application/json"}
        resp = client.post(obs, headers=headers, **body)
        if (found := _check(resp, ("POST", obs, "body", str(i)))) is not None:
            wrong.append(found)
    assert wrong == [], [w[:4] + (str(w[4:])[:80],) for w in wrong]
