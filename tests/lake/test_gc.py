"""``datatorg lake gc``: orphans go, files of any version stay."""

from __future__ import annotations

import uuid
from pathlib import Path

from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.lake import gc, service
from datatorg.settings import Settings
from tests.lake.helpers import make_dataset, publisher, upload


def test_gc_removes_orphans_and_keeps_every_version(
    client: TestClient, session: Session, settings: Settings
) -> None:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    upload(client, ds, headers, b"a\n1\n")
    upload(client, ds, headers, b"a\n2\n", mode="replace")
    store = service.storage(settings)
    orphan = store.local_path(f"datasets/{ds.id}/files/99999999-orphan.parquet")
    orphan.write_bytes(b"PAR1")
    stale = store.staging_dir("00000000-0000-0000-0000-000000000000")
    (stale / "source").write_bytes(b"x")
    report = gc.collect(session=session, storage=store, grace_seconds=0)
    assert not orphan.exists() and not stale.exists()
    assert report.files_removed >= 1 and report.staging_removed >= 1
    kept = list(Path(store.local_path(f"datasets/{ds.id}/files")).glob("*.parquet"))
    assert len(kept) == 2  # the old version's file stays: versions are immutable
    assert client.get(f"/api/v1/datasets/{ds.slug}/rows").json()["rows"] == [[2]]


def test_gc_command(settings: Settings, monkeypatch: object, tmp_path: Path) -> None:
    from datatorg import cli
    from datatorg.db import migrate
    from datatorg.db.engine import make_engine

    url = f"sqlite:///{tmp_path / 'gc.sqlite3'}"
    make_engine(url).dispose()
    migrate.upgrade(url)
    env = {"DATATORG_DATABASE_URL": url, "DATATORG_LAKE_PATH": str(tmp_path / "lake")}
    cli.get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.main, ["lake", "gc", "--grace", "0"], env=env)
    finally:
        cli.get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "removed 0 orphan files" in result.output


def test_gc_discards_uploads_left_pending_too_long(
    client: TestClient, session: Session, settings: Settings
) -> None:
    from datetime import timedelta

    from datatorg.audit import service as audit
    from datatorg.db.base import utcnow
    from datatorg.lake.models import PendingUpload, UploadStatus

    org, headers = publisher(session)
    ds = make_dataset(session, org)
    old = upload(client, ds, headers, b"a\n1\n", publish="false").json()
    fresh = upload(client, ds, headers, b"a\n2\n", publish="false").json()
    old_row = session.get(PendingUpload, uuid.UUID(old["id"]))
    assert old_row is not None
    old_row.created_at = utcnow() - timedelta(days=15)
    session.flush()
    store = service.storage(settings)
    staged = store.local_path(old_row.staged_key).parent
    assert staged.exists()
    report = gc.collect(
        session=session, storage=store, grace_seconds=0, pending_max_age=timedelta(days=14)
    )
    assert report.uploads_expired == 1
    session.refresh(old_row)
    assert old_row.status == UploadStatus.discarded
    assert not staged.exists()  # the staged file is freed
    assert audit.count(session=session, action="lake.upload.expired", target_id=str(ds.id)) == 1
    # the expired upload can no longer be published; the fresh one still can
    gone = client.post(
        f"/api/v1/datasets/{ds.slug}/uploads/{old['id']}/publish", json={}, headers=headers
    )
    assert gone.status_code == 422 and "forkastet" in gone.text, gone.text
    ok = client.post(
        f"/api/v1/datasets/{ds.slug}/uploads/{fresh['id']}/publish", json={}, headers=headers
    )
    assert ok.status_code == 201, ok.text
