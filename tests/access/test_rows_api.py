"""The rows API: Datasette-style filters, sorting, keyset paging, aggregates, errors."""

from __future__ import annotations

import io
import json
from typing import Any

import openpyxl
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.audit import service as audit
from datatorg.catalog.models import Dataset
from tests.lake.helpers import make_dataset, publisher, upload

STATIONS = [("Sentrum", 59.12, 11.39), ("Tistedal", 59.13, 11.46), ("Brødløs", 59.20, 11.30)]


def _csv() -> bytes:
    lines = ["time,station,lat,lon,no2,note"]
    for h in range(48):
        for i, (name, lat, lon) in enumerate(STATIONS):
            no2 = "" if (h == 5 and i == 0) else str(h + i * 10)
            note = "=cmd" if (h == 0 and i == 2) else "ok"
            lines.append(
                f"2024-01-0{1 + h // 24} {h % 24:02d}:30:00,{name},{lat},{lon},{no2},{note}"
            )
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def air(client: TestClient, session: Session) -> Dataset:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    resp = upload(client, ds, headers, _csv())  # one 'note' is "=cmd": stored as published
    assert resp.status_code == 201, resp.text
    return ds


def get(client: TestClient, ds: Dataset, query: str, status: int = 200) -> Any:
    resp = client.get(f"/api/v1/datasets/{ds.slug}/rows?{query}")
    assert resp.status_code == status, resp.text
    return resp.json()


def test_filters_sort_and_count(client: TestClient, air: Dataset) -> None:
    body = get(client, air, "station=Tistedal&no2__gte=50&_sort_desc=no2&_count=1&_col=no2")
    assert body["columns"] == ["no2"]
    assert [r[0] for r in body["rows"]] == list(range(57, 49, -1))
    assert body["count"] == 8
    assert get(client, air, "station__in=Sentrum,Brødløs&_count=1&_size=0")["count"] == 96
    assert get(client, air, "station__not=Sentrum&_count=1&_size=0")["count"] == 96
    assert get(client, air, "station__contains=sentr&_count=1&_size=0")["count"] == 48
    assert get(client, air, "station__startswith=Br&_count=1&_size=0")["count"] == 48
    assert get(client, air, "no2__isnull=1&_count=1&_size=0")["count"] == 1
    assert get(client, air, "no2__between=10,12&_count=1&_size=0")["count"] == 6
    assert get(client, air, "time__lt=2024-01-01T02:00:00&_count=1&_size=0")["count"] == 6


def test_keyset_pages_cover_every_row_once(client: TestClient, air: Dataset) -> None:
    seen: list[Any] = []
    query = "_sort=no2&_size=7&_col=station,no2,time"
    body = get(client, air, query)
    while True:
        seen += body["rows"]
        if not body["next"]:
            break
        assert body["truncated"] is True
        body = get(client, air, f"{query}&_next={body['next']}")
    assert len(seen) == 144
    assert len({(r[0], r[2]) for r in seen}) == 144
    values = [r[1] for r in seen]
    assert values[-1] is None  # nulls last
    assert values[:-1] == sorted(values[:-1])


def test_cursor_is_signed_and_bound_to_its_query(client: TestClient, air: Dataset) -> None:
    cursor = get(client, air, "_sort=no2&_size=5")["next"]
    assert get(client, air, f"_sort=station&_next={cursor}", 422)["errors"][0]["parameter"] == (
        "_next"
    )
    forged = cursor[:-3] + ("aaa" if not cursor.endswith("aaa") else "bbb")
    assert get(client, air, f"_sort=no2&_next={forged}", 422)["errors"][0]["parameter"] == "_next"


def test_aggregates_buckets_and_percentiles(client: TestClient, air: Dataset) -> None:
    body = get(client, air, "_group_by=station&_agg=avg(no2)&_agg=count&_agg=p95(no2)")
    assert body["columns"] == ["station", "avg_no2", "count", "p95_no2"]
    by = {r[0]: r for r in body["rows"]}
    assert by["Tistedal"][1] == pytest.approx(sum(range(10, 58)) / 48)
    assert by["Tistedal"][2] == 48
    day = get(client, air, "_bucket=day&_agg=max(no2)&station=Brødløs")
    assert day["rows"] == [["2024-01-01T00:00:00", 43], ["2024-01-02T00:00:00", 67]]
    assert len(get(client, air, "_bucket=hour:time&_agg=count")["rows"]) == 48
    med = get(client, air, "_agg=median(no2)&_agg=percentile_50(no2)&station=Tistedal")
    assert med["rows"][0][0] == pytest.approx(med["rows"][0][1])


def test_bbox_uses_latitude_and_longitude_roles(client: TestClient, air: Dataset) -> None:
    body = get(client, air, "_bbox=11.35,59.10,11.50,59.15&_group_by=station&_agg=count")
    assert sorted(r[0] for r in body["rows"]) == ["Sentrum", "Tistedal"]


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("nope=1", "nope"),
        ("no2__gt=abc", "no2__gt"),
        ("_sort=nope", "_sort"),
        ("_size=999999999", "_size"),
        ("_size=-1", "_size"),
        ("_agg=avg(station)", "_agg"),
        ("_agg=evil(no2)", "_agg"),
        ("_bucket=year", "_bucket"),
        ("_bucket=day:station", "_bucket"),
        ("_bbox=1,2,3", "_bbox"),
        ("_bbox=200,0,210,1", "_bbox"),
        ("_col=no2;DROP TABLE x", "_col"),
        ('"no2"=1', '"no2"'),
        ("station__between=a", "station__between"),
        ("no2__isnull=maybe", "no2__isnull"),
        ("time__gte=2024-13-01", "time__gte"),
        ("_next=garbage", "_next"),
    ],
)
def test_bad_parameters_are_named(client: TestClient, air: Dataset, query: str, param: str) -> None:
    resp = client.get(f"/api/v1/datasets/{air.slug}/rows", params=dict([query.split("=", 1)]))
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["errors"][0]["parameter"] == param


def test_sql_in_values_is_only_ever_a_value(client: TestClient, air: Dataset) -> None:
    body = get(client, air, "station=x' OR '1'='1&_count=1")
    assert body["count"] == 0
    body = get(client, air, "station__contains=%27;DROP TABLE t;--&_count=1")
    assert body["count"] == 0


def test_latin1_and_unicode_values(client: TestClient, air: Dataset) -> None:
    assert get(client, air, "station=Brødløs&_count=1&_size=0")["count"] == 48


def test_unknown_dataset_and_empty_dataset(client: TestClient, session: Session) -> None:
    assert client.get("/api/v1/datasets/does-not-exist/rows").status_code == 404
    org, _ = publisher(session)
    ds = make_dataset(session, org)
    assert client.get(f"/api/v1/datasets/{ds.slug}/rows").status_code == 404
    assert client.get(f"/api/v1/datasets/{ds.id}/rows").status_code == 404


def test_uuid_works_like_slug(client: TestClient, air: Dataset) -> None:
    assert client.get(f"/api/v1/datasets/{air.id}/rows?_size=1").json()["rows"]


def test_every_read_is_audited(client: TestClient, session: Session, air: Dataset) -> None:
    before = audit.count(session=session, action="data.read", target_id=str(air.id))
    get(client, air, "_size=3")
    get(client, air, "_group_by=station")
    assert audit.count(session=session, action="data.read", target_id=str(air.id)) == before + 2


def test_row_cap(client: TestClient, air: Dataset, settings: Any) -> None:
    client.app.state.settings = settings.model_copy(update={"query_row_cap": 10})  # type: ignore[attr-defined]
    body = get(client, air, "_size=max")
    assert len(body["rows"]) == 10 and body["truncated"] is True
    get(client, air, "_size=11", 422)


@pytest.mark.parametrize("fmt", ["csv", "json", "ndjson", "parquet", "xlsx"])
def test_downloads_with_filters(client: TestClient, air: Dataset, fmt: str) -> None:
    resp = client.get(
        f"/api/v1/datasets/{air.slug}/download.{fmt}?station=Tistedal&_sort=no2&_col=station,no2"
    )
    assert resp.status_code == 200, resp.text
    assert f'{air.slug}.{fmt}"' in resp.headers["content-disposition"]
    if fmt == "csv":
        lines = resp.text.splitlines()
        assert lines[0] == "station,no2" and lines[1] == "Tistedal,10" and len(lines) == 49
    elif fmt == "json":
        data = json.loads(resp.text)
        assert data[0] == {"station": "Tistedal", "no2": 10} and len(data) == 48
    elif fmt == "ndjson":
        assert len(resp.text.splitlines()) == 48
    elif fmt == "parquet":
        assert pq.read_table(io.BytesIO(resp.content)).num_rows == 48
    else:
        ws = openpyxl.load_workbook(io.BytesIO(resp.content)).active
        assert [c.value for c in ws[2]] == ["Tistedal", 10]


def test_unknown_download_format(client: TestClient, air: Dataset) -> None:
    assert client.get(f"/api/v1/datasets/{air.slug}/download.exe").status_code == 404


@pytest.mark.parametrize("small", [True, False])
def test_downloads_from_memory_and_streamed_alike(
    client: TestClient, air: Dataset, small: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """A file up to ``IN_MEMORY_BYTES`` is answered from memory, a larger one streamed from its
    file; both with the same body and headers, and neither leaves its temporary file."""
    from datatorg.access import router

    monkeypatch.setattr(router, "IN_MEMORY_BYTES", 1_000_000 if small else 100)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    resp = client.get(f"/api/v1/datasets/{air.slug}/download.csv?_col=station,no2")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-disposition"] == f'attachment; filename="{air.slug}.csv"'
    assert resp.headers["content-type"] == "text/csv; charset=utf-8"
    assert int(resp.headers["content-length"]) == len(resp.content) > 100
    assert resp.text.splitlines()[:2] == ["station,no2", "Sentrum,0"]
    assert ("etag" in resp.headers) is not small  # only a file response tags its file
    assert list(tmp_path.iterdir()) == []  # the export's file is gone either way


def test_download_file_names_that_need_escaping() -> None:
    from datatorg.access.router import attachment

    assert attachment("luft.csv") == 'attachment; filename="luft.csv"'
    assert attachment("bør.csv") == "attachment; filename*=utf-8''b%C3%B8r.csv"
    assert attachment('a"b.csv') == "attachment; filename*=utf-8''a%22b.csv"


def test_a_small_download_answers_a_byte_range_as_a_file(client: TestClient, air: Dataset) -> None:
    """A download that would be answered from memory is a file response when the client
    asks for a byte range (a resumed download): 206 with the bytes asked for."""
    url = f"/api/v1/datasets/{air.slug}/download.csv"
    whole = client.get(url)
    assert whole.status_code == 200 and "accept-ranges" not in whole.headers
    part = client.get(url, headers={"range": "bytes=0-9"})
    assert part.status_code == 206 and part.content == whole.content[:10]
    assert part.headers["accept-ranges"] == "bytes"
