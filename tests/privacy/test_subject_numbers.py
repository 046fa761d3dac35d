"""Subject numbers: the integer the consent filter tests instead of the subject key.

Linked files carry each row's subject number in a hidden column that nothing shows; the
integer predicate keeps exactly the rows the key predicate keeps (a property test over the
SQL itself, dense and sparse sets, empty keys, keys of no subject); a version without the
column is filtered by key and ``link_dataset`` numbers it; numbers are stable and never
reused; hostile subject values link correctly or are refused clearly, and an upload may not
name a column like the hidden one."""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from datatorg.access import pipeline
from datatorg.access import sql as sqlgen
from datatorg.access.policy import RowPolicy, SubjectFilter, SubjectNumbers
from datatorg.catalog.models import AccessRights, Classification, Dataset, DatasetStatus
from datatorg.errors import Invalid
from datatorg.identity.models import Role
from datatorg.lake import heads
from datatorg.lake import service as lake
from datatorg.lake.models import WriteMode
from datatorg.lake.reader import SUBJECT_NO
from datatorg.privacy import service as privacy
from datatorg.privacy.models import IdentityKind, ScopeKind, Subject
from datatorg.settings import Settings
from tests.factories import actor_of, make_org, make_token, make_user
from tests.privacy.helpers import meter_csv, personal_dataset, research_agreement, upload_csv

PURPOSE = "ScientificResearch"


def _file_rows(paths: tuple[Path, ...], column: str) -> list[tuple[Any, Any]]:
    out: list[tuple[Any, Any]] = []
    for p in paths:
        t = pq.read_table(p)
        out += list(
            zip(t.column(column).to_pylist(), t.column(SUBJECT_NO).to_pylist(), strict=True)
        )
    return out


def _consent(session: Session, ds: Dataset, subject: Subject) -> None:
    privacy.give(
        session=session,
        subject=subject,
        purpose=PURPOSE,
        scope_kind=ScopeKind.dataset,
        scope_ref=str(ds.id),
    )


def _read_policy(session: Session, settings: Settings, ds: Dataset, user: Any) -> RowPolicy:
    r = pipeline.begin(
        session=session,
        settings=settings,
        actor=actor_of(session, user),
        dataset=ds,
        channel="api",
    )
    return r.policy


def _rows(client: TestClient, ds: Dataset, headers: dict[str, str], col: str) -> list[Any]:
    resp = client.get(f"/api/v1/datasets/{ds.slug}/rows?_col={col}&_size=100", headers=headers)
    assert resp.status_code == 200, resp.text
    return sorted(r[0] for r in resp.json()["rows"])


def test_linked_rows_carry_their_numbers_and_nothing_shows_them(
    client: TestClient, session: Session, settings: Settings
) -> None:
    org = make_org(session)
    ds = personal_dataset(session, org)
    text = meter_csv(["M-00001", "M-00002"], hours=2) + ",2025-01-01T05:00:00,9.5\n"
    upload_csv(session, settings, ds, text)
    upload_csv(session, settings, ds, meter_csv(["M-00003"], hours=1), mode=WriteMode.append)
    head = lake.head_files(session=session, settings=settings, dataset_id=ds.id)
    assert head is not None and head.numbered and len(head.paths) == 2
    pairs = _file_rows(head.paths, "meter_id")
    numbers = privacy.numbers_for_keys(session=session, keys=[k for k, _ in pairs if k])
    assert len(set(numbers.values())) == 3
    assert pairs and all(n == (numbers[k] if k else None) for k, n in pairs)
    assert (None, None) in pairs  # an empty subject value has no number
    assert SUBJECT_NO not in [f["name"] for f in head.schema["fields"]]

    steward = make_user(session, org=org, roles=(Role.steward, Role.publisher))
    auth = make_token(session, steward)
    base = f"/api/v1/datasets/{ds.slug}"
    for path in (
        f"{base}/rows?_size=100",
        f"{base}/rows?_group_by=meter_id&_agg=count",
        f"{base}/download.csv",
        f"{base}/download.json",
        f"{base}/stats",
        f"{base}/versions",
        f"{base}/datapackage.json",
        base,
        f"/api/3/action/datastore_search?resource_id={ds.slug}&limit=100",
        f"/datasets/{ds.slug}/data",
        f"/dataset/{ds.slug}.jsonld",
    ):
        resp = client.get(path, headers=auth)
        assert resp.status_code == 200, (path, resp.text)
        assert "subject_no" not in resp.text, path
    pq_resp = client.get(f"{base}/download.parquet", headers=auth)
    assert pq_resp.status_code == 200
    assert SUBJECT_NO not in pq.read_table(io.BytesIO(pq_resp.content)).column_names
    for bad in (f"_col={SUBJECT_NO}", f"{SUBJECT_NO}__gt=0", f"_sort={SUBJECT_NO}"):
        resp = client.get(f"{base}/rows?{bad}", headers=auth)
        assert resp.status_code in (400, 422), (bad, resp.text)
        assert "subject_no" in resp.text  # it names the parameter, as for any unknown column
    built = lake.build_row_index(settings=settings, head=head)
    assert built is not None
    index = lake.row_index(settings=settings, head=head)
    assert index is not None and SUBJECT_NO not in index[1].kinds


def test_consent_reads_test_the_number_and_keep_the_same_rows_without_it(
    client: TestClient, session: Session, settings: Settings
) -> None:
    """A numbered version is filtered on the integer; the same version with its files
    stripped of the column (a version written before numbers existed) is filtered by key,
    with the same rows; ``link_dataset`` then numbers its files."""
    org = make_org(session)
    ds = personal_dataset(session, org)
    meters = ["M-10001", "M-10002", "M-10003", "M-10004"]
    upload_csv(session, settings, ds, meter_csv(meters, hours=2))
    subjects = [
        privacy.find_by_identity(
            session=session, settings=settings, kind=IdentityKind.meter_number, value=m
        )
        for m in meters
    ]
    assert all(s is not None for s in subjects)
    for s in subjects[:2]:
        assert s is not None
        _consent(session, ds, s)
    assert subjects[1] is not None
    subjects[1].restricted_at = subjects[1].created_at  # restricted: leaves every read
    session.flush()
    user = research_agreement(session, ds)
    auth = make_token(session, user)
    want = [0.5, 0.6]  # the first meter's two hours (meter_csv): consenting, not restricted

    pol = _read_policy(session, settings, ds, user)
    assert pol.subject_numbers and pol.subjects is not None and pol.subjects.numbers is not None
    assert any(SUBJECT_NO in c for c in sqlgen.predicate(pol)[0])
    assert _rows(client, ds, auth, "kwh") == want

    head = lake.head_files(session=session, settings=settings, dataset_id=ds.id)
    assert head is not None
    for p in head.paths:  # as a version written before subject numbers existed
        pq.write_table(pq.read_table(p).drop_columns([SUBJECT_NO]), p)
    heads.forget_versions([head.version_id])
    pol = _read_policy(session, settings, ds, user)
    assert not pol.subject_numbers
    assert not any(SUBJECT_NO in c for c in sqlgen.predicate(pol)[0])
    assert _rows(client, ds, auth, "kwh") == want

    assert privacy.link_dataset(session=session, settings=settings, dataset_id=ds.id) == 1
    head = lake.head_files(session=session, settings=settings, dataset_id=ds.id)
    assert head is not None and head.numbered
    assert _read_policy(session, settings, ds, user).subject_numbers
    assert _rows(client, ds, auth, "kwh") == want
    assert privacy.link_dataset(session=session, settings=settings, dataset_id=ds.id) == 0


def test_numbers_are_stable_and_never_given_again(session: Session, settings: Settings) -> None:
    a = privacy.new_subject(session, settings)
    b = privacy.new_subject(session, settings)
    ka, kb, bid = a.subject_key, b.subject_key, b.id
    first = privacy.numbers_for_keys(session=session, keys=[ka, kb])
    assert 0 < first[ka] < first[kb]
    again = privacy.numbers_for_keys(session=session, keys=[kb, "sk-none"])
    assert again == {kb: first[kb]}
    privacy.erase_subject(session=session, settings=settings, subject_id=bid, subject_key=kb)
    assert privacy.numbers_for_keys(session=session, keys=[kb]) == {}
    c = privacy.new_subject(session, settings)
    assert (
        privacy.numbers_for_keys(session=session, keys=[c.subject_key])[c.subject_key] > first[kb]
    )


# -- the SQL: the integer predicate keeps exactly what the key predicate keeps ---------------

N = 24


@hsettings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    dense=st.booleans(),
    sparse=st.lists(st.integers(1, 2**40), min_size=N, max_size=N, unique=True),
    rows=st.lists(st.integers(-3, N - 1), max_size=80),
    keep=st.one_of(st.none(), st.sets(st.integers(0, N - 1))),
    drop=st.sets(st.integers(0, N - 1), max_size=6),
)
def test_the_number_predicate_equals_the_key_predicate(
    dense: bool, sparse: list[int], rows: list[int], keep: set[int] | None, drop: set[int]
) -> None:
    numbers = list(range(1, N + 1)) if dense else sparse
    stale = max(numbers) + 7  # the number of a subject that is gone

    def row(i: int) -> tuple[str | None, int | None]:
        if i == -1:
            return None, None  # no subject value
        if i == -2:
            return "sk-unknown", None  # a key of no subject
        if i == -3:
            return "sk-gone", stale  # a subject erased since (its number is never reused)
        return f"sk-{i:03d}", numbers[i]

    data = [row(i) for i in rows]
    table = pa.table(
        {
            "r": pa.array(range(len(data)), pa.int64()),
            "k": pa.array([k for k, _ in data], pa.string()),
            SUBJECT_NO: pa.array([n for _, n in data], pa.int64()),
        }
    )
    subjects = SubjectFilter(
        keep=None if keep is None else frozenset(f"sk-{i:03d}" for i in keep),
        drop=frozenset(f"sk-{i:03d}" for i in drop),
        numbers=SubjectNumbers(
            keep=None if keep is None else frozenset(numbers[i] for i in keep),
            drop=frozenset(numbers[i] for i in drop),
        ),
    )
    oracle = [
        r
        for r, (k, _) in enumerate(data)
        if (keep is None or (k is not None and k in subjects.keep))  # type: ignore[operator]
        and k not in subjects.drop
    ]
    file_max = max((n for _, n in data if n is not None), default=0)
    con = duckdb.connect()
    try:
        con.register("t", table)
        got = {}
        for numbered in (True, False):
            policy = RowPolicy(
                fields=(),
                subject_column="k",
                subjects=subjects,
                subject_no_max=file_max if numbered else None,
            )
            conds, binds = sqlgen.predicate(policy)
            assert any(SUBJECT_NO in c for c in conds) == (
                numbered and bool(keep or drop)  # (an empty keep is plain "false")
            )
            where = " AND ".join(conds) or "true"
            got[numbered] = [
                x[0]
                for x in con.execute(f"SELECT r FROM t WHERE {where} ORDER BY r", binds).fetchall()
            ]
    finally:
        con.close()
    assert got[True] == got[False] == oracle


def test_dense_sets_are_bitmaps_and_sparse_ones_lists() -> None:
    def sql(nums: frozenset[int], file_max: int | None = None) -> str:
        policy = RowPolicy(
            fields=(),
            subject_column="k",
            subjects=SubjectFilter(keep=frozenset({"x"}), numbers=SubjectNumbers(keep=nums)),
            subject_no_max=max(nums, default=0) if file_max is None else file_max,
        )
        return " ".join(sqlgen.predicate(policy)[0])

    assert "get_bit" in sql(frozenset(range(1, 60_001)))
    assert "unnest" in sql(frozenset({5, 10**9}))
    assert "unnest" in sql(frozenset({1, 2}), file_max=10**7)  # the bitmap covers the files
    assert sql(frozenset()) == "false"


# -- hostile input ----------------------------------------------------------------------------


def _plain_dataset(session: Session) -> Dataset:
    org = make_org(session)
    ds = Dataset(
        slug=f"plain-{uuid.uuid4().hex[:8]}",
        title_nb="Plain",
        publisher_id=org.id,
        access_rights=AccessRights.non_public,
        classification=Classification.internal,
        status=DatasetStatus.published,
    )
    session.add(ds)
    session.flush()
    return ds


def _ingest_bytes(session: Session, settings: Settings, ds: Dataset, raw: bytes) -> None:
    folder = Path(lake.new_staging(settings))
    (folder / "source.csv").write_bytes(raw)
    lake.ingest_file(
        session=session,
        settings=settings,
        dataset=ds,
        source=folder / "source.csv",
        filename="data.csv",
        mode=WriteMode.replace,
        uploaded_by=None,
    )


@pytest.mark.parametrize("name", ["__subject_no", "__SUBJECT_NO", " __Subject_No"])
def test_an_upload_may_not_name_the_hidden_column(
    session: Session, settings: Settings, name: str
) -> None:
    ds = _plain_dataset(session)
    raw = f"måler,{name}\nÆ-1,7\n".encode("latin-1")
    with pytest.raises(Invalid) as exc:
        _ingest_bytes(session, settings, ds, raw)
    errors = exc.value.extra["errors"]
    assert [e["code"] for e in errors] == ["reserved_column"]
    assert name.strip() in errors[0]["message"] and errors[0]["column"] == name.strip()
    assert lake.head(session=session, dataset_id=ds.id) is None


def test_hostile_subject_values_link_or_are_refused_clearly(
    client: TestClient, session: Session, settings: Settings
) -> None:
    org = make_org(session)
    ds = personal_dataset(session, org, column="epost", kind=IdentityKind.email)
    hostile = [
        "o'brien@eksempel.no",
        "x');drop_table_privacy_subjects;--@eksempel.no",
        "ærlig.åse@eksempel.no",
        "'||(select(1))||'@eksempel.no",
    ]
    lines = ["epost,kwh"] + [f'"{v}",{i}.5' for i, v in enumerate(hostile)]
    _ingest_bytes(session, settings, ds, ("\n".join(lines) + "\n").encode("latin-1"))
    head = lake.head_files(session=session, settings=settings, dataset_id=ds.id)
    assert head is not None and head.numbered
    subjects = [
        privacy.find_by_identity(
            session=session, settings=settings, kind=IdentityKind.email, value=v
        )
        for v in hostile
    ]
    assert all(s is not None for s in subjects) and len({s.id for s in subjects if s}) == 4
    pairs = _file_rows(head.paths, "epost")
    numbers = privacy.numbers_for_keys(session=session, keys=[s.subject_key for s in subjects if s])
    assert sorted(pairs) == sorted(numbers.items())
    for i in (0, 2):
        s = subjects[i]
        assert s is not None
        _consent(session, ds, s)
    auth = make_token(session, research_agreement(session, ds))
    assert _rows(client, ds, auth, "kwh") == [0.5, 2.5]

    meters = personal_dataset(session, org)
    for bad in ("M" * 5000, "'; DROP TABLE privacy_subjects; --", "målar-ø"):
        with pytest.raises(Invalid) as exc:
            upload_csv(session, settings, meters, f'meter_id,kwh\n"{bad}",1\nM-00009,2\n')
        errors = exc.value.extra["errors"]
        assert errors and errors[0].get("column") == "subject", errors
        assert bad not in str(errors) + exc.value.detail  # the value is not echoed
        assert lake.head(session=session, dataset_id=meters.id) is None


def test_a_number_beyond_the_column_leaves_the_file_without_numbers(tmp_path: Path) -> None:
    from datatorg.lake import subject_no

    src = tmp_path / "f.parquet"
    pq.write_table(pa.table({"k": ["sk-a", None, "sk-b"], "v": [1, 2, 3]}), src)
    out = subject_no.write(src, "k", lambda keys: {"sk-a": 7, "sk-b": 2**31}, tmp_path / "o")
    assert out is None and not (tmp_path / "o").exists()
    out = subject_no.write(src, "k", lambda keys: {"sk-a": 7}, tmp_path / "o")
    assert out is not None and subject_no.largest([out]) == 7
    table = pq.read_table(out)
    assert table.column(SUBJECT_NO).type == pa.int32()
    assert table.column(SUBJECT_NO).to_pylist() == [7, None, None]  # sk-b: no subject
    assert table.column("k").to_pylist() == ["sk-a", None, "sk-b"]
