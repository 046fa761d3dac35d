"""Privacy benchmarks: the consent filter and erasure, each as a ratio against a baseline in
the same run (alternating rounds, medians).

1. **Consent-filtered query over 100,000 subjects vs the same query unfiltered.** A dataset
   of ``BENCH_CONSENT_ROWS`` rows (20 per subject), 60 % of the subjects consenting, published
   through the lake (so its file carries the hidden subject numbers). Both variants are the
   gate's whole read path (``access.service.read``) for a consumer under a research
   agreement: filtered = with privacy's contributor (consent filter, disclosure ledger),
   unfiltered = with the pipeline's contributor list emptied. Three queries: a research
   aggregate, a count over every row, and a page of 100 rows.
2. **Erasing one subject across all datasets vs a raw rewrite of the affected files.** Five
   datasets, four files each (appends), ``BENCH_ERASE_ROWS`` rows in all; the subject has rows
   in one file of each dataset. Erasure = ``privacy.service.erase_subject`` (find the files,
   rewrite them, fix counts, new heads, drop row indexes, ledger, registry, tombstones, one
   commit); raw = DuckDB ``COPY`` of the five affected files without the subject's rows.

Targets (issue 13): filtered ≤ 1.3× unfiltered; erasure ≤ 2× the raw rewrite.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import duckdb
import pyarrow as pa
from sqlalchemy import insert
from sqlalchemy.orm import Session

from datatorg.access import pipeline
from datatorg.access import service as access
from datatorg.catalog.models import AccessRights, Classification, Dataset, DatasetStatus
from datatorg.db import migrate
from datatorg.db.engine import make_engine, make_sessionmaker
from datatorg.identity import service as identity
from datatorg.identity.models import OrgKind, Role
from datatorg.lake import service as lake
from datatorg.lake.ingest_common import PARQUET_OPTIONS
from datatorg.lake.models import WriteMode
from datatorg.lake.reader import SUBJECT_NO
from datatorg.market.models import Agreement, PriceModel
from datatorg.privacy import service as privacy
from datatorg.privacy.models import (
    Consent,
    ConsentState,
    IdentityKind,
    Notice,
    ScopeKind,
    Subject,
    SubjectNumber,
)
from datatorg.settings import Settings

SUBJECTS = int(os.environ.get("BENCH_CONSENT_SUBJECTS", 100_000))
CONSENT_ROWS = int(os.environ.get("BENCH_CONSENT_ROWS", 2_000_000))
ERASE_ROWS = int(os.environ.get("BENCH_ERASE_ROWS", 10_000_000))
ROUNDS = int(os.environ.get("BENCH_PRIVACY_ROUNDS", 5))
CONSENT_ROUNDS = int(os.environ.get("BENCH_CONSENT_ROUNDS", 9))
SECRET = "bench-secret-key-0123456789-abcdefghijklmnop"


def _world(root: Path) -> tuple[Settings, Any]:
    url = f"sqlite:///{root / 'bench.sqlite3'}"
    make_engine(url).dispose()
    migrate.upgrade(url)
    settings = Settings(
        env="test",
        database_url=url,
        lake_path=root / "lake",
        secret_key=SECRET,  # type: ignore[arg-type]
        mail_enabled=False,
        row_index_max_rows=0,
    )
    return settings, make_sessionmaker(make_engine(url))


def _dataset(session: Session, org_id: uuid.UUID, slug: str) -> Dataset:
    ds = Dataset(
        slug=slug,
        title_nb=slug,
        publisher_id=org_id,
        access_rights=AccessRights.non_public,
        classification=Classification.personal,
        has_personal_data=True,
        status=DatasetStatus.published,
    )
    session.add(ds)
    session.flush()
    privacy.declare_dataset(
        session=session,
        actor=None,
        dataset=ds,
        subject_column="subject",
        identity_kind=IdentityKind.subject_key,
        legal_basis="Consent",
        categories=["ObservedPersonalData"],
    )
    return ds


def _subjects(session: Session, settings: Settings, n: int) -> list[str]:
    keys = privacy.keys_of(settings)
    rows = []
    for _ in range(n):
        sid = uuid.uuid4()
        rows.append({"id": sid, "subject_key": keys.subject_key(str(sid))})
    session.execute(insert(Subject), rows)
    session.execute(insert(SubjectNumber), [{"subject_id": r["id"]} for r in rows])
    return [r["subject_key"] for r in rows]


def _ingest(session: Session, settings: Settings, ds: Dataset, sql: str, mode: WriteMode) -> None:
    folder = Path(lake.new_staging(settings))
    source = folder / "source.parquet"
    con = duckdb.connect()
    try:
        con.execute(f"COPY ({sql}) TO '{source}' (FORMAT parquet)")
    finally:
        con.close()
    lake.ingest_file(
        session=session,
        settings=settings,
        dataset=ds,
        source=source,
        filename="bench.parquet",
        mode=mode,
        uploaded_by=None,
    )


def _keys_table(keys: list[str]) -> str:
    path = Path(tempfile.mkdtemp()) / "keys.parquet"
    con = duckdb.connect()
    try:
        con.register("k", pa.table({"k": keys}))
        con.execute(f"COPY (SELECT k FROM k) TO '{path}' (FORMAT parquet)")
    finally:
        con.close()
    return str(path)


QUERIES = (  # (what, URL-language parameters, reads per round and variant)
    (
        "daily mean and 95th percentile (a research aggregate)",
        "_bucket=day:ts&_agg=avg(kwh)&_agg=p95(kwh)&_size=1000",
        3,
    ),
    ("count and mean over every row", "_agg=count&_agg=avg(kwh)", 6),
    ("a page of 100 rows in time order", "_col=ts&_col=kwh&_size=100", 12),
)


def _consenting(session: Session, ds: Dataset, keys: list[str]) -> int:
    """60 % of the subjects consent to scientific research on the dataset."""
    privacy.ensure_notices(session=session)
    notice = session.query(Notice).filter(Notice.purpose == "ScientificResearch").one()
    now = datetime.now(UTC)
    subject_ids = dict(session.query(Subject.subject_key, Subject.id).all())
    consenting = keys[: len(keys) * 6 // 10]
    session.execute(
        insert(Consent),
        [
            {
                "id": uuid.uuid4(),
                "subject_id": subject_ids[k],
                "purpose": "ScientificResearch",
                "scope_kind": ScopeKind.dataset,
                "scope_ref": str(ds.id),
                "notice_id": notice.id,
                "state": ConsentState.given,
                "created_at": now,
                "updated_at": now,
            }
            for k in consenting
        ],
    )
    return len(consenting)


def _reader(session: Session, ds: Dataset) -> Any:
    """A research institution's user holding an agreement for scientific research (every
    column, no quota): the reader of both variants."""
    school = identity.create_organisation(
        session=session, slug="forskning", name="Forskning", kind=OrgKind.research
    )
    user = identity.create_user(
        session=session, email="forsker@bench.no", display_name="Forsker", password=None
    )
    identity.add_membership(session=session, user=user, organisation=school, role=Role.consumer)
    now = datetime.now(UTC)
    session.add(
        Agreement(
            dataset_id=ds.id,
            assigner_org_id=ds.publisher_id,
            assignee_org_id=school.id,
            assignee_user_id=user.id,
            purpose="ScientificResearch",
            legal_basis="Consent",
            columns=None,
            aggregate_only=False,
            price_model=PriceModel.free,
            price_nok=0,
            licence="",
            attribution_required=True,
            redistribution_prohibited=True,
            valid_from=now - timedelta(days=1),
            valid_until=now + timedelta(days=365),
            agreed_at=now,
            content_hash=uuid.uuid4().hex,
        )
    )
    session.flush()
    return user


def _size_without_numbers(paths: tuple[Path, ...], root: Path) -> int:
    """Bytes the version's files would take without the hidden subject-number column."""
    out = root / "without.parquet"
    con = duckdb.connect()
    try:
        src = "read_parquet([" + ", ".join(f"'{p}'" for p in paths) + "])"
        con.execute(
            f"COPY (SELECT * EXCLUDE ({SUBJECT_NO}) FROM {src}) TO '{out}' ({PARQUET_OPTIONS})"
        )
    finally:
        con.close()
    size = out.stat().st_size
    out.unlink()
    return size


def consent_filter() -> str:
    """The gate's whole read path (``access.service.read``: decision, row policy, engine,
    audit record) for a consumer under a research agreement, on one numbered version, with
    privacy's contributor (consent filter + disclosure ledger) and without it (the pipeline's
    contributor list emptied for those reads: the same read, unfiltered)."""
    root = Path(tempfile.mkdtemp(prefix="bench-privacy-"))
    saved = list(pipeline.CONTRIBUTORS)
    try:
        settings, sessions = _world(root)
        with sessions() as session:
            org = identity.create_organisation(session=session, slug="bench", name="Bench")
            ds = _dataset(session, org.id, "maalinger")
            keys = _subjects(session, settings, SUBJECTS)
            consenting = _consenting(session, ds, keys)
            user = _reader(session, ds)
            kpath = _keys_table(keys)
            per = max(1, CONSENT_ROWS // SUBJECTS)
            _ingest(
                session,
                settings,
                ds,
                f"SELECT k.k AS subject, TIMESTAMP '2025-01-01' + "
                f"to_minutes((r.h * {SUBJECTS} + k.n) // 100) AS ts, "
                f"round(random() * 3, 3) AS kwh FROM (SELECT k, row_number() OVER () - 1 AS n "
                f"FROM read_parquet('{kpath}')) k CROSS JOIN range({per}) r(h) "
                "ORDER BY ts, subject",
                WriteMode.replace,
            )
            session.commit()
            head = lake.head_files(session=session, settings=settings, dataset_id=ds.id)
            assert head is not None and head.numbered, "the version carries subject numbers"
            actor = identity.actor_for_user(session=session, user=user)
            slug = ds.slug
            with_no = sum(p.stat().st_size for p in head.paths)
            without = _size_without_numbers(head.paths, root)

        def read(items: list[tuple[str, str]]) -> Any:
            with sessions() as s:
                facts, version = lake.dataset_for_read(session=s, ref=slug)
                return access.read(
                    session=s,
                    settings=settings,
                    actor=actor,
                    dataset=facts,
                    items=items,
                    channel="bench",
                    head_version=version,
                )

        def timed(items: list[tuple[str, str]], n: int, filtered: bool) -> tuple[float, Any]:
            pipeline.CONTRIBUTORS[:] = saved if filtered else []
            t0 = time.perf_counter()
            for _ in range(n):
                page = read(items)
            return (time.perf_counter() - t0) / n, page

        lines = [
            "### Consent-filtered query vs unfiltered (the gate's read path)",
            "",
            f"{SUBJECTS:,} subjects, {consenting:,} consenting, {per * SUBJECTS:,} rows in one "
            "version whose file carries the subject numbers. A research institution's user "
            "reads under an agreement for scientific research through "
            "`access.service.read` (decision, row policy, DuckDB, audit record): *filtered* "
            "with privacy's contributor (consent filter on the subject number, disclosure "
            "ledger for rows that leave), *unfiltered* without it (the pipeline's contributor "
            "list emptied). Same process, same version, row index off (both variants on "
            f"DuckDB); {CONSENT_ROUNDS} alternating rounds, each the mean of several reads; "
            "medians.",
            "",
            "| query | unfiltered | filtered | ratio | rows (unfiltered → filtered) |",
            "|---|---|---|---|---|",
        ]
        worst = 0.0
        for name, query, n in QUERIES:
            items = parse_qsl(query)
            timed(items, 1, False), timed(items, 1, True)  # warm: files, filter cache, plans
            plain, filtered = [], []
            last: dict[bool, Any] = {}
            for rnd in range(CONSENT_ROUNDS):
                for f in (False, True) if rnd % 2 == 0 else (True, False):
                    took, last[f] = timed(items, n, f)
                    (filtered if f else plain).append(took)
            p, f = statistics.median(plain), statistics.median(filtered)
            worst = max(worst, f / p)
            shown = "—"
            if name.startswith("count"):
                both = (last[False].rows[0][0], last[True].rows[0][0])
                assert both == (per * SUBJECTS, per * consenting), both  # the filter works
                shown = f"{both[0]:,} → {both[1]:,}"
            lines.append(
                f"| {name} | {p * 1000:.1f} ms | {f * 1000:.1f} ms | {f / p:.2f}× | {shown} |"
            )
        lines += [
            "",
            f"**Worst ratio: {worst:.2f}×** (target ≤ 1.3×). The hidden number column makes "
            f"the version's file {with_no / 1e6:.1f} MB instead of {without / 1e6:.1f} MB "
            f"(+{(with_no - without) / without:.0%}).",
            "",
        ]
        return "\n".join(lines)
    finally:
        pipeline.CONTRIBUTORS[:] = saved
        shutil.rmtree(root, ignore_errors=True)


def erasure() -> str:
    lines = [
        "### Erasing one subject across all datasets vs a raw rewrite",
        "",
        f"5 datasets × 4 files, {ERASE_ROWS:,} rows; the subject has rows in one file of each.",
        "",
        "| round | raw rewrite of the 5 affected files | erasure | ratio |",
        "|---|---|---|---|",
    ]
    raws, erases = [], []
    for rnd in range(max(1, ROUNDS // 2)):
        root = Path(tempfile.mkdtemp(prefix="bench-erase-"))
        try:
            settings, sessions = _world(root)
            with sessions() as session:
                org = identity.create_organisation(session=session, slug="bench", name="Bench")
                keys = _subjects(session, settings, 1000)
                victim = keys[0]
                kpath = _keys_table(keys[1:])
                per_file = ERASE_ROWS // 20
                affected = []
                for d in range(5):
                    ds = _dataset(session, org.id, f"ds-{d}")
                    for f in range(4):
                        extra = (
                            f"UNION ALL SELECT '{victim}', TIMESTAMP '2025-01-01' + to_hours(h), "
                            f"1.0 FROM range(50) r(h)"
                            if f == 2
                            else ""
                        )
                        _ingest(
                            session,
                            settings,
                            ds,
                            f"SELECT k.k AS subject, TIMESTAMP '2025-01-01' + to_hours(r.h % 9000) "
                            f"AS ts, round(random() * 3, 3) AS kwh FROM read_parquet('{kpath}') k "
                            f"CROSS JOIN range({per_file // 999}) r(h) {extra}",
                            WriteMode.replace if f == 0 else WriteMode.append,
                        )
                    head = lake.head_files(session=session, settings=settings, dataset_id=ds.id)
                    assert head is not None
                    affected.append(head.paths[2])
                session.commit()
                con = duckdb.connect()
                t0 = time.perf_counter()
                for p in affected:
                    out = p.with_name(p.name + ".raw")
                    con.execute(
                        f"COPY (SELECT * FROM read_parquet('{p}') WHERE subject <> '{victim}') "
                        f"TO '{out}' (FORMAT parquet, ROW_GROUP_SIZE 16384)"
                    )
                    out.unlink()
                raw = time.perf_counter() - t0
                con.close()
                subject = session.query(Subject).filter(Subject.subject_key == victim).one()
                t0 = time.perf_counter()
                report = privacy.erase_subject(
                    session=session,
                    settings=settings,
                    subject_id=subject.id,
                    subject_key=victim,
                )
                session.commit()
                took = time.perf_counter() - t0
                assert report["rows_removed"] == 250, report
            raws.append(raw)
            erases.append(took)
            lines.append(f"| {rnd + 1} | {raw:.2f} s | {took:.2f} s | {took / raw:.2f}× |")
        finally:
            shutil.rmtree(root, ignore_errors=True)
    r, e = statistics.median(raws), statistics.median(erases)
    lines.append(f"| **median** | {r:.2f} s | {e:.2f} s | **{e / r:.2f}×** |")
    return "\n".join(lines)


def ledger_cost() -> str:
    """What recording one read's subjects in the disclosure ledger adds to the read."""
    from datatorg.privacy import ledger

    root = Path(tempfile.mkdtemp(prefix="bench-ledger-"))
    try:
        settings, sessions = _world(root)
        keys = [privacy.keys_of(settings).subject_key(str(uuid.uuid4())) for _ in range(200)]
        page_keys = [keys[i % 200] for i in range(10_000)]
        path = root / "page.parquet"
        con = duckdb.connect()
        con.register("t", pa.table({"subject": page_keys, "kwh": [0.5] * 10_000}))
        con.execute(f"COPY t TO '{path}' (FORMAT parquet)")
        con.unregister("t")
        reads, records = [], []
        with sessions() as session:
            for _ in range(ROUNDS * 4):
                t0 = time.perf_counter()
                rows = con.execute(f"SELECT subject, kwh FROM read_parquet('{path}')").fetchall()
                reads.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                entry = ledger.Entry(
                    uuid.uuid4(), uuid.uuid4(), 1, "api", len(rows), frozenset(r[0] for r in rows)
                )
                ledger.record(session=session, entries=[entry], at=datetime.now(UTC))
                session.flush()
                records.append(time.perf_counter() - t0)
            size = len(ledger.pack(keys))
        con.close()
        r, w = statistics.median(reads), statistics.median(records)
        return (
            "### Disclosure ledger: cost per read\n\n"
            "| a page of 10,000 rows (200 subjects) | recording its subjects | share | bytes |\n"
            "|---|---|---|---|\n"
            f"| {r * 1000:.1f} ms | {w * 1000:.2f} ms | {w / r:.0%} | {size} |"
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run() -> str:
    before = os.getloadavg()
    body = consent_filter() + "\n\n" + erasure() + "\n\n" + ledger_cost()
    after = os.getloadavg()
    return (
        "## Privacy\n\n"
        f"Load average (1, 5, 15 min) before: {before[0]:.2f}, {before[1]:.2f}, {before[2]:.2f}; "
        f"after: {after[0]:.2f}, {after[1]:.2f}, {after[2]:.2f} (2 cores, shared).\n\n"
        + body
        + "\n"
    )


if __name__ == "__main__":
    print(run())
