"""The row index answers exactly as DuckDB does: same JSON pages, same cursors, in either
engine and when switching mid-way; the planner serves only what it can seek exactly; hostile
values are bound; every read is still audited."""

from __future__ import annotations

import io
import sqlite3
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.access import pipeline, sql_index
from datatorg.access import policy as rowpolicy
from datatorg.access import query as qmod
from datatorg.audit.models import AuditEvent
from datatorg.catalog.models import Dataset
from datatorg.lake import reader, rowindex_meta
from datatorg.lake import service as lake
from datatorg.settings import Settings
from tests.lake.helpers import make_dataset, publisher, upload

SCHEMA = pa.schema(
    [
        ("station", pa.string()),
        ("code", pa.int64()),
        ("no2", pa.float64()),
        ("ts", pa.timestamp("us")),
        ("day", pa.date32()),
        ("flag", pa.bool_()),
        ("note", pa.string()),
        ("meter", pa.string()),  # the subject key (hidden from these readers, never copied)
        ("amount", pa.decimal128(7, 2)),  # held as hundredths (DuckDB's DECIMAL(7,2))
    ]
)
METERS = ["M1", "M2", "M3", "x'; M4"]
STATIONS = ["A", "Bø", "Æøå", "x'; DROP TABLE r;--", "a"]
T0 = datetime(2025, 1, 1)
row_st = st.tuples(
    st.one_of(st.none(), st.sampled_from(STATIONS)),
    st.one_of(st.none(), st.integers(-3, 3)),
    st.one_of(st.none(), st.sampled_from([-1.5, 0.0, 2.25, 10.0, 1e10, -7.0])),
    st.one_of(st.none(), st.integers(0, 6).map(lambda h: T0 + timedelta(hours=h))),
    st.one_of(st.none(), st.integers(-2, 2).map(lambda d: date(2025, 1, 1) + timedelta(d))),
    st.one_of(st.none(), st.booleans()),
    st.one_of(st.none(), st.text(alphabet="abZæøÅ '\"\x00;", max_size=5)),
    st.one_of(st.none(), st.sampled_from(METERS)),
    st.one_of(
        st.none(),
        st.sampled_from([Decimal("0.00"), Decimal("-12.50"), Decimal("99999.99"), Decimal("3.10")]),
    ),
)
FILTERS = st.sampled_from(
    [
        ("station", st.sampled_from([*STATIONS, "Zzz"])),  # (a NUL is a 400: see below)
        ("station__not", st.sampled_from(STATIONS)),
        ("station__in", st.sampled_from(["A,Bø", "Æøå", "a,x'; DROP TABLE r;--"])),
        ("code", st.integers(-4, 4).map(str)),
        ("code__in", st.sampled_from(["1,2", "-3,0,3"])),
        ("code__gte", st.integers(-4, 4).map(str)),
        ("no2__gt", st.sampled_from(["-2", "0", "2.25", "1e9"])),
        ("no2__lte", st.sampled_from(["-1.5", "0", "10"])),
        ("no2__between", st.sampled_from(["-2,3", "0,1e10", "5,1"])),
        ("ts__gte", st.integers(-1, 7).map(lambda h: (T0 + timedelta(hours=h)).isoformat())),
        ("ts__lt", st.integers(-1, 7).map(lambda h: (T0 + timedelta(hours=h)).isoformat())),
        ("ts__isnull", st.sampled_from(["1", "0"])),
        ("day__lt", st.sampled_from(["2025-01-01", "2024-12-31", "2025-01-03"])),
        ("flag", st.sampled_from(["true", "false"])),
        ("note__isnull", st.sampled_from(["1", "0"])),
        ("no2__exact", st.sampled_from(["0", "-7"])),
        ("amount__gte", st.sampled_from(["0", "3.1", "-12.5"])),
    ]
).flatmap(lambda kv: kv[1].map(lambda v: (kv[0], v)))
KEYED = st.one_of(
    st.sampled_from([*STATIONS, "Zzz"]).map(lambda v: ("station", v)),
    st.integers(-4, 4).map(lambda v: ("code", str(v))),
)
TS_ONLY = st.sampled_from(["ts__gte", "ts__lt", "ts__isnull", "ts__not", "ts__between"]).map(
    lambda op: (
        op,
        {"ts__isnull": "0", "ts__between": "2025-01-01T01:00,2025-01-01T04:00"}.get(
            op, (T0 + timedelta(hours=2)).isoformat()
        ),
    )
)
QUERIES = st.tuples(
    st.one_of(
        st.lists(FILTERS, max_size=3),  # mostly DuckDB's
        st.tuples(KEYED, st.lists(FILTERS, max_size=2)).map(lambda t: [t[0], *t[1]]),
        st.lists(TS_ONLY, max_size=2),
        st.tuples(KEYED, st.lists(TS_ONLY, max_size=2)).map(lambda t: [t[0], *t[1]]),
    ),
    st.sampled_from([None, "ts", "ts", "-ts", "no2"]),
    st.integers(2, 6),
    st.sampled_from([None, "station,ts,no2", "flag,day,code,note", "amount,station"]),
)


def _parquet(rows: list[tuple[Any, ...]]) -> bytes:
    cols = list(zip(*rows, strict=True)) if rows else [[] for _ in SCHEMA]
    table = pa.table({f.name: pa.array(c, f.type) for f, c in zip(SCHEMA, cols, strict=True)})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def _publish(
    client: TestClient, session: Session, settings: Settings, parts: list[list[Any]]
) -> tuple[Dataset, lake.HeadFiles]:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    for i, rows in enumerate(parts):
        mode = "append" if i else "replace"
        resp = upload(
            client,
            ds,
            headers,
            _parquet(rows),
            filename=f"p{i}.parquet",
            mode=mode,
            publish="true" if i else "false",
        )
        if not i:  # the first part declares the subject key, the appends keep it
            assert resp.status_code == 202, resp.text
            resp = client.post(
                f"/api/v1/datasets/{ds.slug}/uploads/{resp.json()['id']}/publish",
                json={"fields": [{"name": "meter", "role": "subject_key"}]},
                headers=headers,
            )
        assert resp.status_code == 201, resp.text
    head = lake.head_files(session=session, settings=settings, dataset_id=ds.id)
    assert head is not None and len(head.paths) == len(parts)
    assert lake.build_row_index(settings=settings, head=head) is not None
    return ds, head


class Engines:
    """Switch between the row index and DuckDB; count the pages the index served."""

    def __init__(self, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
        self.settings = settings
        self.served = 0
        real = reader.query_index

        def counting(*args: Any, **kwargs: Any) -> Any:
            self.served += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(reader, "query_index", counting)
        self.cap = settings.row_index_max_rows
        self.monkeypatch = monkeypatch

    def use(self, index: bool) -> None:
        self.monkeypatch.setattr(self.settings, "row_index_max_rows", self.cap if index else 0)


@pytest.fixture
def engines(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Engines:
    return Engines(settings, monkeypatch)


def _params(filters: list[tuple[str, str]], sort: str | None, size: int, cols: str | None) -> str:
    items = list(filters) + [("_size", str(size))]
    if sort:
        items.append(("_sort_desc", sort[1:]) if sort.startswith("-") else ("_sort", sort))
    if cols:
        items.append(("_col", cols))
    return urlencode(items)


def _walk(client: TestClient, ds: Dataset, query: str, engines: Engines, plan: list[bool]) -> Any:
    """Every page of ``query``, each from the engine ``plan`` names (index when True); a
    refusal (a hidden column named, say) is the walk's one answer."""
    pages = []
    nxt = None
    for i in range(200):
        engines.use(plan[min(i, len(plan) - 1)])
        url = f"/api/v1/datasets/{ds.slug}/rows?{query}" + (f"&_next={nxt}" if nxt else "")
        resp = client.get(url)
        if resp.status_code != 200:
            assert resp.status_code == 422 and not pages, resp.text
            return [resp.json()["errors"]]
        body = resp.json()
        pages.append(body)
        nxt = body["next"]
        if not nxt:
            return pages
    raise AssertionError("paging did not end")


def _rows(pages: Any) -> Any:
    return [r for p in pages for r in p.get("rows", [p])] if isinstance(pages[0], dict) else pages


KEY = "0f" * 16
POLICIES = st.builds(
    rowpolicy.PolicyPart,
    hide=st.frozensets(st.sampled_from(["note", "flag", "day"]), max_size=2),
    transforms=st.sampled_from(
        [
            {},
            {},
            {"no2": rowpolicy.Transform("generalise", level="step:5")},
            {"ts": rowpolicy.Transform("generalise", level="hour")},
            {"station": rowpolicy.Transform("generalise", level="prefix:1")},
            {"meter": rowpolicy.Transform("pseudonymise", key=KEY)},
        ]
    ),
    subjects=st.one_of(
        st.none(),
        st.none(),
        st.builds(
            rowpolicy.SubjectFilter,
            keep=st.one_of(st.none(), st.frozensets(st.sampled_from(METERS))),
            drop=st.frozensets(st.sampled_from(METERS), max_size=2),
        ),
    ),
    row_filters=st.lists(
        st.sampled_from(
            [
                rowpolicy.RowFilter("station", "in", ("A", "Bø", "Æøå")),
                rowpolicy.RowFilter("code", "gte", (0,)),
                rowpolicy.RowFilter("ts", "isnull", (False,)),
                rowpolicy.RowFilter("no2", "between", (-2.0, 3.0)),
                rowpolicy.RowFilter("note", "not", ("a",)),
            ]
        ),
        max_size=2,
    ).map(tuple),
)


# hidden columns and agreement row filters on stored values: the row index applies these
SERVED_POLICY = rowpolicy.PolicyPart(
    hide=frozenset({"note", "flag"}),
    row_filters=(
        rowpolicy.RowFilter("code", "gte", (0,)),
        rowpolicy.RowFilter("station", "in", ("A", "Bø", "Æøå")),
    ),
)


@pytest.fixture
def policy_part(monkeypatch: pytest.MonkeyPatch) -> list[rowpolicy.PolicyPart]:
    """What a contributor (as privacy) adds to every read: the test sets it."""
    given: list[rowpolicy.PolicyPart] = []
    monkeypatch.setattr(
        pipeline, "CONTRIBUTORS", [lambda session, request: given[0] if given else None]
    )
    return given


@hsettings(
    max_examples=30,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),  # uploads make shrinking slow
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    parts=st.lists(st.lists(row_st, min_size=1, max_size=9), min_size=1, max_size=3),
    queries=st.lists(QUERIES, min_size=1, max_size=3),
    policy=POLICIES,
)
def test_index_pages_equal_duckdb_pages(
    client: TestClient,
    session: Session,
    settings: Settings,
    engines: Engines,
    policy_part: list[rowpolicy.PolicyPart],
    parts: list[list[Any]],
    queries: list[Any],
    policy: rowpolicy.PolicyPart,
) -> None:
    """Under a random row policy (hidden and transformed columns, a subject filter, agreement
    row filters), the row index answers exactly as DuckDB does, or leaves the read to it."""
    engines.use(True)
    ds, _ = _publish(client, session, settings, parts)
    policy_part[:] = [policy]
    for filters, sort, size, cols in queries:
        query = _params(filters, sort, size, cols)
        duck = _walk(client, ds, query, engines, [False])
        assert _walk(client, ds, query, engines, [True]) == duck
        mixed = _walk(client, ds, query, engines, [True, False, True])
        assert _rows(mixed) == _rows(duck)
        switched = _walk(client, ds, query, engines, [False, True])
        assert _rows(switched) == _rows(duck)
    fixed = [([("station", "A")], "ts", 2, None), ([], "-ts", 2, None), ([], None, 3, None)]
    for served in (None, SERVED_POLICY):  # no policy, and one the index applies itself
        policy_part[:] = [served] if served else []
        before = engines.served
        for filters, sort, size, cols in fixed:
            query = _params(filters, sort, size, cols)
            assert _walk(client, ds, query, engines, [True]) == _walk(
                client, ds, query, engines, [False]
            )
        assert engines.served > before  # the index served these (equal to DuckDB's pages)


def _meta() -> rowindex_meta.Meta:
    return rowindex_meta.Meta(
        version_id="v",
        kinds={"station": "text", "ts": "ts", "no2": "real", "who": "text", "day": "date"},
        types={},
        files=("a.parquet", "b.parquet"),
        time="ts",
        keys=("station",),
        indexes={
            "k0": ["station"],
            "kt0": ["station", "ts"],
            "kt0d": ["station", "ts"],
            "t": ["ts"],
            "td": ["ts"],
        },
        descending=("kt0d", "td"),
    )


SCHEMA_JSON = {
    "fields": [
        {"name": "station", "type": "string"},
        {"name": "ts", "type": "datetime", "role": "time"},
        {"name": "no2", "type": "number"},
        {"name": "who", "type": "string"},
        {"name": "day", "type": "date"},
    ]
}


POLICY = rowpolicy.build(schema=SCHEMA_JSON, identifiers=False, allowed_columns=None)


def _q(params: str) -> qmod.Query:
    """The query as the pipeline makes it (without ``_sort``: the default order)."""
    items = [tuple(kv.split("=", 1)) for kv in params.split("&") if kv]
    q = qmod.parse(
        items,  # type: ignore[arg-type]
        SCHEMA_JSON,
        visible=["station", "ts", "no2", "who", "day"],
        max_size=1000,
        decode_cursor=lambda raw: [T0 if raw == "v" else None, "a.parquet", 3],
    )
    pipeline.default_order(q, POLICY)
    return q


@pytest.mark.parametrize(
    "params",
    [
        "station=A&_sort=no2",  # sort on a column that is not the time column
        "_sort=ts&no2__gt=1",  # time order with a filter the time index cannot seek
        "no2__gt=1",  # default order, no key filter
        "who=x",  # not a key column
        "station__in=A,B&_sort=ts",  # several keys cannot keep time order
        "station=A&who__contains=x",  # substring matching is DuckDB's
        "station=A&who__startswith=x",
        "station=A&_search=x",
        "_group_by=station",
        "station=A&_group_by=station&_agg=count",
        "station=A&ts=2025-01-01T00:00:00+02:00",  # a time zone the copy does not hold
    ],
)
def test_planner_declines_what_it_cannot_seek_exactly(params: str) -> None:
    assert sql_index.plan_rows(_q(params), _meta(), POLICY) is None


@pytest.mark.parametrize(
    "params",
    [
        "station=A",
        "station=A&_sort=ts",
        "station=A&_sort=ts&no2__gt=20&ts__gte=2025-01-01",
        "_sort=ts&ts__lt=2025-02-01",
        "_sort=ts",
        "",
        "station=A&_sort=ts&_next=c",
        "station=A&_sort_desc=ts",
        "station=A&_sort_desc=ts&_next=c",
        "station=A&_sort_desc=ts&_next=v",
        "station=A&_sort=ts&_next=v",
        "_sort=ts&_next=v",
        "_sort_desc=ts&ts__lt=2025-02-01",
        "station=A&_next=c",
    ],
)
def test_planner_serves_with_index_seeks_only(params: str) -> None:
    parts = sql_index.plan_rows(_q(params), _meta(), POLICY)
    assert parts is not None
    db = sqlite3.connect(":memory:")
    cols = ", ".join(f'"{c}"' for c in _meta().kinds)
    db.execute(f'CREATE TABLE r ("__datatorg_pos" INTEGER PRIMARY KEY, {cols})')
    db.execute('CREATE INDEX "k0" ON r("station")')
    db.execute('CREATE INDEX "kt0" ON r("station", ("ts" IS NULL), "ts")')
    db.execute('CREATE INDEX "t" ON r(("ts" IS NULL), "ts")')
    db.execute('CREATE INDEX "kt0d" ON r("station", ("ts" IS NULL), "ts" DESC)')
    db.execute('CREATE INDEX "td" ON r(("ts" IS NULL), "ts" DESC)')
    for sql, binds in parts:
        plan = " | ".join(r[3] for r in db.execute("EXPLAIN QUERY PLAN " + sql, binds))
        assert "TEMP B-TREE" not in plan, (sql, plan)
        assert plan.startswith("SEARCH") or (params == "" and "SCAN r" in plan), plan
        assert all("'" not in sql.split("FROM")[1] for sql, _ in parts)  # values are bound


def test_cursor_positions_follow_duckdb_file_order() -> None:
    meta = _meta()
    assert meta.position("a.parquet", 3) == 3
    assert meta.position("b.parquet", 0) == 1 << 40
    assert meta.position("0.parquet", 9) == -1  # before every file: all rows follow
    assert meta.position("aa.parquet", 9) == (1 << 40) - 1  # between a and b
    assert meta.position("c.parquet", 0) == (2 << 40) - 1  # after every file: none follow
    assert meta.identity((1 << 40) + 7) == ("b.parquet", 7)


@pytest.mark.parametrize(
    "value",
    # (a NUL never reaches a read: the shell answers 400 for it, see web/middleware.py)
    ["'; DROP TABLE r;--", "A\x00B", "Æøå".encode().decode("latin-1"), '" OR 1=1 --', "%"],
)
def test_hostile_values_are_bound_and_match_nothing(
    client: TestClient,
    session: Session,
    settings: Settings,
    engines: Engines,
    value: str,
) -> None:
    rows = [("A", 1, 1.0, T0, date(2025, 1, 1), True, "n", "M1", Decimal("1.50"))]
    ds, head = _publish(client, session, settings, [rows])
    before = engines.served
    for q in ({"station": value, "_sort": "ts"}, {"station": value}):
        resp = client.get(f"/api/v1/datasets/{ds.slug}/rows?{urlencode(q)}")
        if "\x00" in value:  # no value may hold a NUL: refused before any parsing
            assert resp.status_code == 400, resp.text
            continue
        assert resp.status_code == 200, resp.text
        assert resp.json()["rows"] == []
    assert engines.served == before + (0 if "\x00" in value else 2)
    found = lake.row_index(settings=settings, head=head)
    assert found is not None
    assert sqlite3.connect(found[0]).execute("SELECT count(*) FROM r").fetchone() == (1,)


def test_http_body_same_with_index_off_and_read_audited(
    client: TestClient, session: Session, settings: Settings, engines: Engines
) -> None:
    rows = [
        (STATIONS[i % 3], i % 4, float(i), T0 + timedelta(minutes=i), None, None, "æ", "M2", None)
        for i in range(40)
    ]
    ds, _ = _publish(client, session, settings, [rows[:25], rows[25:]])
    url = f"/api/v1/datasets/{ds.slug}/rows?station=A&no2__gt=3&_sort=ts&_size=5"
    engines.use(True)
    served = engines.served
    with_index = client.get(url)
    assert engines.served == served + 1
    engines.use(False)
    without = client.get(url)
    assert engines.served == served + 1
    assert with_index.status_code == 200 and with_index.content == without.content
    events = session.scalars(
        select(AuditEvent).where(
            AuditEvent.target_id == str(ds.id), AuditEvent.action == "data.read"
        )
    ).all()
    assert len(events) >= 2 and all(e.details["rows"] == 5 for e in events[-2:])
