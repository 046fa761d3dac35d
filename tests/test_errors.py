"""One error shape: RFC 9457 problem+json under /api, a friendly page for HTML."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from datatorg import errors

CASES = [
    (errors.BadRequest, 400),
    (errors.Unauthenticated, 401),
    (errors.Forbidden, 403),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.Invalid, 422),
    (errors.TooManyRequests, 429),
    (errors.DatatorgError, 500),
]


@pytest.fixture
def raising_client(app: FastAPI) -> Iterator[TestClient]:
    router = APIRouter()

    @router.get("/api/v1/_raise/{status}")
    @router.get("/_raise/{status}")
    def _raise(status: int) -> None:
        for cls, code in CASES:
            if code == status:
                raise cls("detail for the test")
        raise RuntimeError("crash with secret ola@example.no")

    @router.get("/api/v1/_typed")
    def _typed(n: int) -> dict[str, int]:
        return {"n": n}

    app.include_router(router)
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as c:
        yield c


@pytest.mark.parametrize(("cls", "status"), CASES)
def test_problem_json_shape(raising_client: TestClient, cls: type, status: int) -> None:
    r = raising_client.get(f"/api/v1/_raise/{status}")
    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert set(body) >= {"type", "title", "status", "detail", "instance"}
    assert body["status"] == status
    assert body["type"].startswith("https://datatorg.halden.kommune.no/problems/")
    assert body["instance"] == f"/api/v1/_raise/{status}"
    if status == 429:
        assert r.headers["retry-after"] == "60"
    if status == 401:
        assert "Bearer" in r.headers["www-authenticate"]


def test_unexpected_crash_is_500_without_details(raising_client: TestClient) -> None:
    r = raising_client.get("/api/v1/_raise/599")
    assert r.status_code == 500
    assert "ola@example.no" not in r.text
    assert r.json()["detail"] == "An unexpected error occurred"


def test_validation_error_names_the_parameter(raising_client: TestClient) -> None:
    r = raising_client.get("/api/v1/_typed?n=abc")
    assert r.status_code == 422
    body = r.json()
    assert body["errors"][0]["field"] == "n"
    assert "n" in body["detail"]


def test_unknown_route_is_problem_json(client: TestClient) -> None:
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"


def test_html_pages_get_a_friendly_page(raising_client: TestClient) -> None:
    r = raising_client.get("/_raise/404", headers={"Accept": "text/html"})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "<h1>" in r.text
    crash = raising_client.get("/_raise/599", headers={"Accept": "text/html"})
    assert crash.status_code == 500 and "ola@example.no" not in crash.text
