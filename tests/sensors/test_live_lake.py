"""Live datasets in the lake: appends visible at once, compaction invisible to readers."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.lake import compaction, gc, live
from datatorg.lake import service as lake
from datatorg.lake.models import LiveSegment, SegmentState
from datatorg.settings import Settings
from tests.sensors.helpers import Stream, make_stream, stored_rows

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _send(client: TestClient, session: Session, s: Stream, start: int, n: int) -> None:
    body = [
        {
            "entityId": s.devices[i % len(s.devices)],
            "observedAt": (T0 + timedelta(minutes=i)).isoformat(),
            "no2": float(i),
            "count": i,
        }
        for i in range(start, start + n)
    ]
    r = client.post(f"/api/v1/sensors/streams/{s.slug}/observations", json=body, headers=s.headers)
    assert r.status_code == 200, r.text
    # the compactor ends its read transaction (rollback) before writing: make what the
    # test and the request stored outlast it (the test's session commits to a savepoint)
    session.commit()


def _segments(session: Session, s: Stream, state: SegmentState) -> list[LiveSegment]:
    return list(
        session.scalars(
            select(LiveSegment).where(
                LiveSegment.dataset_id == s.dataset_id, LiveSegment.state == state
            )
        )
    )


def test_rows_api_sees_an_append_at_once_and_compaction_changes_nothing_it_sees(
    client: TestClient, session: Session, settings: Settings
) -> None:
    s = make_stream(session)
    for k in range(10):
        _send(client, session, s, k * 20, 20)
    url = f"/api/v1/datasets/{s.slug}/rows?_sort=observedAt&_size=1000&_col=entityId,no2"
    seen = client.get(url).json()
    assert len(seen["rows"]) == 200  # no version per batch, yet every row is read
    agg = client.get(f"/api/v1/datasets/{s.slug}/rows?_group_by=entityId&_agg=sum(count)")
    before_agg = agg.json()["rows"]
    assert len(_segments(session, s, SegmentState.live)) == 10
    versions_before = len(lake.versions(session=session, dataset_id=s.dataset_id))
    assert versions_before == 1

    store = lake.storage(settings)
    merged = compaction.merge(session=session, storage=store, dataset_id=s.dataset_id)
    assert merged == 10  # all ten of the same size tier became one segment
    assert len(_segments(session, s, SegmentState.live)) == 1
    assert client.get(url).json()["rows"] == seen["rows"]

    version = compaction.fold(session=session, storage=store, dataset_id=s.dataset_id, force=True)
    assert version is not None and version.live and version.row_count == 200
    assert _segments(session, s, SegmentState.live) == []
    assert client.get(url).json()["rows"] == seen["rows"]
    assert (
        client.get(f"/api/v1/datasets/{s.slug}/rows?_group_by=entityId&_agg=sum(count)").json()[
            "rows"
        ]
        == before_agg
    )

    _send(client, session, s, 200, 5)  # appends continue on top of the folded version
    assert len(client.get(url).json()["rows"]) == 205
    head = lake.head_files(session=session, settings=settings, dataset_id=s.dataset_id)
    assert head is not None and head.live and head.row_count == 205
    assert lake.row_index(settings=settings, head=head) is None  # no serving copy to rebuild


def test_fold_packs_small_files_and_cleanup_deletes_what_nothing_lists(
    client: TestClient, session: Session, settings: Settings
) -> None:
    s = make_stream(session)
    store = lake.storage(settings)
    for k in range(3):
        _send(client, session, s, k * 10, 10)
        assert compaction.fold(session=session, storage=store, dataset_id=s.dataset_id, force=True)
    head = lake.head_files(session=session, settings=settings, dataset_id=s.dataset_id)
    assert head is not None and len(head.paths) == 1  # each fold packed the small file before
    rows = stored_rows(session, settings, s.dataset_id)
    assert len(rows) == 30
    # nothing is deleted inside the grace period: a reader may still be on the old files
    report = compaction.cleanup(session=session, storage=store, dataset_id=s.dataset_id)
    assert report.files == 0
    files_before = set((settings.lake_path / "datasets" / str(s.dataset_id)).rglob("*.parquet"))
    assert len(files_before) == 6  # 3 segments, 3 folded files
    report = compaction.cleanup(
        session=session, storage=store, dataset_id=s.dataset_id, grace_seconds=-1
    )
    assert (report.segments, report.versions) == (3, 3)
    files_after = set((settings.lake_path / "datasets" / str(s.dataset_id)).rglob("*.parquet"))
    assert files_after == set(head.paths)
    assert stored_rows(session, settings, s.dataset_id) == rows
    assert [v.number for v in lake.versions(session=session, dataset_id=s.dataset_id)] == [4]


def test_gc_keeps_live_segments_and_collects_unregistered_ones(
    client: TestClient, session: Session, settings: Settings
) -> None:
    s = make_stream(session)
    _send(client, session, s, 0, 10)
    store = lake.storage(settings)
    orphan_key, _ = live.write_segment_file(store, s.dataset_id, live_table(s, session))
    old = datetime.now().timestamp() - 7200
    for path in (settings.lake_path / "datasets" / str(s.dataset_id)).rglob("*.parquet"):
        os.utime(path, (old, old))
    gc.collect(session=session, storage=store, grace_seconds=3600)
    assert not store.exists(orphan_key)  # written, never committed: an orphan
    assert len(stored_rows(session, settings, s.dataset_id)) == 10


def live_table(s: Stream, session: Session) -> object:
    from datatorg.sensors import service

    ref = service.get_stream(session=session, ref=s.slug)
    import pyarrow as pa

    schema = live.arrow_schema(service.stream_schema(ref.stream))
    return pa.table({n: [None] for n in schema.names}, schema=schema)
