"""One dataset lookup: hostile references answer 404 on every route that takes one.

The routes are found in ``app.routes`` (every path parameter ``ref`` or ``slug`` under a
dataset path), so a new route is held to the rule the day it is added; the CKAN actions that
take a dataset id are added by hand. Runs on SQLite and PostgreSQL (the run's database).
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.catalog import service as catalog
from datatorg.catalog.models import Dataset, DatasetStatus
from datatorg.errors import NotFound
from datatorg.identity.models import Organisation, Role
from datatorg.settings import Settings
from datatorg.web.csrf import CSRF_COOKIE
from tests.catalog.conftest import load_demo_catalog
from tests.factories import make_token, make_user

DATASET_PATHS = ("/api/v1/datasets/", "/datasets/", "/dataset/")
FILL = {"fmt": "csv", "ext": "ttl", "upload_id": str(uuid.UUID(int=7)), "action": "approve"}

HOSTILE = {
    "nul": "a%00b",
    "over-long": "a" * 5000,
    "non-utf8": "%FF%FE",
    "overlong-dots": "%C0%AE%C0%AE",
    "dot-dot": "%2E%2E",
    "backslashes": "..%5C..%5Cetc",
    "surrogate": "%ED%A0%80",
    "control": "abc%1B%5B2J",
    "sql": "x%27%20OR%20%271%27=%271",
    "emoji": "%F0%9F%98%80",
}


def routes_with_a_dataset_ref(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path template) of every route that takes a dataset reference in its path."""

    def walk(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, set[str]]]:
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is not None:
                yield from walk(inner.routes, prefix + route.include_context.prefix)
            elif isinstance(route, APIRoute):
                yield prefix + route.path, route.methods

    found = []
    for path, methods in walk(app.routes):
        if path.startswith(DATASET_PATHS) and re.search(r"\{(ref|slug)\}", path):
            found += [(m, path) for m in sorted(methods - {"HEAD"})]
    return sorted(found)


def _look_alikes(ds: Dataset) -> dict[str, str]:
    """Spellings that look like (or parse as) a real dataset's slug or id."""
    cyrillic = ds.slug.translate(str.maketrans("aeopcx", "аеорсх"))
    fullwidth = str(ds.id).translate({c: c + 0xFEE0 for c in range(0x30, 0x3A)})
    return {
        "cyrillic": cyrillic,
        "upper": ds.slug.upper(),
        "fullwidth-uuid": fullwidth,
        "braced-uuid": "{" + str(ds.id) + "}",
        "urn-uuid": "urn:uuid:" + str(ds.id),
        "bare-uuid": ds.id.hex,
        "trailing-space": ds.slug + "%20",
        "nfkc-ligature": ds.slug.replace("f", "ﬀ", 1) if "f" in ds.slug else ds.slug + "ﬀ",
    }


@pytest.fixture
def world(session: Session, settings: Settings) -> dict[str, Any]:
    load_demo_catalog(session, settings)
    ds = session.scalars(
        select(Dataset).where(Dataset.status == DatasetStatus.published).order_by(Dataset.slug)
    ).first()
    assert ds is not None and any(c in ds.slug for c in "aeopcx")
    org = session.get(Organisation, ds.publisher_id)
    publisher = make_user(session, org=org, roles=(Role.publisher,), superuser=True)
    return {"dataset": ds, "headers": make_token(session, publisher)}


def _call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> Any:
    token = client.cookies.get(CSRF_COOKIE) or ""
    kw: dict[str, Any] = {"headers": headers | {"X-CSRF-Token": token}}
    if method in ("POST", "PUT", "PATCH"):
        if path.endswith(("/versions", "/upload")):
            kw["files"] = {"file": ("x.csv", io.BytesIO(b"a,b\n1,2\n"), "text/csv")}
            kw["data"] = {"csrf_token": token}
        elif path.startswith("/api/"):
            kw["json"] = {}
        else:
            kw["data"] = {"csrf_token": token}
    return client.request(method, path, **kw)


def test_the_enumeration_finds_the_dataset_routes(app: FastAPI) -> None:
    found = routes_with_a_dataset_ref(app)
    for expected in [
        ("GET", "/api/v1/datasets/{ref}/rows"),
        ("GET", "/api/v1/datasets/{ref}"),
        ("POST", "/api/v1/datasets/{ref}/versions"),
        ("GET", "/datasets/{slug}"),
        ("GET", "/dataset/{ref}.{ext}"),
        ("GET", "/datasets/{ref}/data"),
    ]:
        assert expected in found
    assert len(found) >= 20


def test_hostile_references_answer_404_on_every_route(
    app: FastAPI, client: TestClient, world: dict[str, Any]
) -> None:
    client.get("/")  # a CSRF cookie for the form posts
    refs = HOSTILE | _look_alikes(world["dataset"])
    wrong = []
    for method, template in routes_with_a_dataset_ref(app):
        for name, ref in refs.items():
            path = re.sub(
                r"\{(\w+)\}",
                lambda m, ref=ref: ref if m[1] in ("ref", "slug") else FILL[m[1]],
                template,
            )
            resp = _call(client, method, path, world["headers"])
            # a route with a body may refuse the (empty) body first: the reference then never
            # reached the database either
            allowed = {404, 422} if method in ("POST", "PUT", "PATCH") else {404}
            if resp.status_code not in allowed:
                wrong.append((method, template, name, resp.status_code, resp.text[:120]))
            elif path.startswith("/api/"):
                assert resp.headers["content-type"].startswith("application/problem+json")
    assert wrong == []


def test_the_real_references_still_work(client: TestClient, world: dict[str, Any]) -> None:
    ds = world["dataset"]
    for ref in (ds.slug, str(ds.id), str(ds.id).upper()):
        assert client.get(f"/api/v1/datasets/{ref}", headers=world["headers"]).status_code == 200


@pytest.mark.parametrize("action", ["package_show", "datastore_search"])
def test_ckan_actions_answer_not_found(
    client: TestClient, world: dict[str, Any], action: str
) -> None:
    key = "id" if action == "package_show" else "resource_id"
    for name, ref in (HOSTILE | _look_alikes(world["dataset"])).items():
        resp = client.get(f"/api/3/action/{action}?{key}={ref}")
        if name == "nul":  # refused before any parsing: no query parameter may hold a NUL
            assert resp.status_code == 400, resp.text[:200]
            continue
        assert resp.status_code == 404, (name, resp.text[:200])
        assert resp.json()["success"] is False


def test_the_lookup_refuses_without_asking(session: Session) -> None:
    for ref in ("", "a\x00b", "a" * 121, "\ud800", "\ufffd", "a/b", "a\\b", "\x1b[2J"):
        with pytest.raises(NotFound):
            catalog.dataset_key(ref)
        assert catalog.get_dataset(session=session, ref=ref) is None
    assert catalog.dataset_key(str(uuid.UUID(int=1)).upper()) == uuid.UUID(int=1)
    assert (
        catalog.dataset_key("{" + str(uuid.UUID(int=1)) + "}") == "{" + str(uuid.UUID(int=1)) + "}"
    )
