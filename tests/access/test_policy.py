"""The row policy as every engine applies it: subject filters (consent, restriction), agreement
row filters, hidden and transformed columns — in pages, counts, aggregates, statistics,
downloads and the data page alike; a contributor is asked on every read."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.access import pipeline
from datatorg.access import policy as rowpolicy
from datatorg.lake import reader
from tests import gate_world
from tests.gate_world import GateWorld

KEY = "ab" * 16


@pytest.fixture
def world(client: TestClient, session: Session) -> GateWorld:
    return gate_world.build(client, session)


class Parts(list[rowpolicy.PolicyPart]):
    """The parts the contributor gives (the first), and what it was asked."""

    asked: list[rowpolicy.PolicyRequest]


@pytest.fixture
def parts(monkeypatch: pytest.MonkeyPatch) -> Iterator[Parts]:
    """Install a contributor (as privacy will) whose parts the test sets; count its calls."""
    given = Parts()
    asked: list[rowpolicy.PolicyRequest] = []
    given.asked = asked

    def contributor(
        session: Session, request: rowpolicy.PolicyRequest
    ) -> rowpolicy.PolicyPart | None:
        asked.append(request)
        return given[0] if given else None

    monkeypatch.setattr(pipeline, "CONTRIBUTORS", [contributor])
    yield given


def _get(client: TestClient, world: GateWorld, who: str, path: str) -> Any:
    resp = client.get(f"/api/v1/datasets/{world.dataset.slug}/{path}", headers=world.headers[who])
    assert resp.status_code == 200, resp.text
    return resp


def keys(n: int) -> set[str]:
    return {f"{gate_world.SECRET_KEY}-{i:03d}" for i in range(n)}


def test_subject_filter_keeps_and_drops_rows_everywhere(
    client: TestClient, world: GateWorld, parts: Parts
) -> None:
    keep = keys(5)  # 5 of 40 subjects consented
    parts.append(rowpolicy.PolicyPart(subjects=rowpolicy.SubjectFilter(keep=frozenset(keep))))
    expected = sum(1 for i in range(gate_world.ROWS) if i % 40 < 5)
    body = _get(client, world, "owner:steward", "rows?_size=max&_count=1").json()
    assert body["count"] == expected == len(body["rows"])
    assert {r[0] for r in body["rows"]} == keep
    # the same rows for every engine and face
    agg = _get(client, world, "owner:publisher", "rows?_agg=count&_agg=sum(kwh)").json()
    assert agg["rows"][0][0] == expected
    stats = _get(client, world, "owner:publisher", "stats").json()
    assert stats["rows"] == expected
    download = _get(client, world, "owner:steward", "download.csv").text
    lines = list(csv.reader(io.StringIO(download)))[1:]
    assert len(lines) == expected and {row[0] for row in lines} == keep
    # drop some of them (a restriction): both apply
    parts[0] = rowpolicy.PolicyPart(
        subjects=rowpolicy.SubjectFilter(keep=frozenset(keep), drop=frozenset(keys(2)))
    )
    body = _get(client, world, "owner:steward", "rows?_size=max&_count=1").json()
    assert {r[0] for r in body["rows"]} == keep - keys(2)
    asked = parts.asked
    assert asked and all(a.subject_column == "meter_secret_id" for a in asked)
    assert {a.owner for a in asked} == {True}


def test_drop_only_and_an_empty_keep(client: TestClient, world: GateWorld, parts: Parts) -> None:
    parts.append(rowpolicy.PolicyPart(subjects=rowpolicy.SubjectFilter(drop=frozenset(keys(39)))))
    body = _get(client, world, "owner:steward", "rows?_size=max").json()
    assert {r[0] for r in body["rows"]} == {f"{gate_world.SECRET_KEY}-039"}
    parts[0] = rowpolicy.PolicyPart(subjects=rowpolicy.SubjectFilter(keep=frozenset()))
    body = _get(client, world, "owner:publisher", "rows?_count=1").json()
    assert body["rows"] == [] and body["count"] == 0


def test_the_row_index_declines_reads_under_a_subject_filter(
    client: TestClient,
    world: GateWorld,
    parts: Parts,
    settings: Any,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datatorg.lake import service as lake

    head = lake.head_files(session=session, settings=settings, dataset_id=world.dataset.id)
    assert head is not None and lake.build_row_index(settings=settings, head=head)
    served: list[int] = []
    real = reader.query_index
    monkeypatch.setattr(reader, "query_index", lambda *a, **k: served.append(1) or real(*a, **k))
    first = _get(client, world, "owner:publisher", "rows?postcode=1703&_size=5").json()
    assert served == [1]  # no policy rows: the index serves (default order: time)
    parts.append(rowpolicy.PolicyPart(subjects=rowpolicy.SubjectFilter(drop=frozenset(keys(1)))))
    second = _get(client, world, "owner:publisher", "rows?postcode=1703&_size=5").json()
    assert served == [1]  # declined to DuckDB
    assert second["columns"] == first["columns"]
    # the copy holds no identifying column at all
    import sqlite3

    found = lake.row_index(settings=settings, head=head)
    assert found is not None
    cols = [r[1] for r in sqlite3.connect(found[0]).execute("PRAGMA table_info(r)")]
    assert "meter_secret_id" not in cols and "resident_secret_name" not in cols


def test_pseudonyms_leave_instead_of_subject_keys(
    client: TestClient, world: GateWorld, parts: Parts
) -> None:
    part = rowpolicy.PolicyPart(
        transforms={"meter_secret_id": rowpolicy.Transform("pseudonymise", key=KEY)}
    )
    parts.append(part)
    body = _get(client, world, "owner:publisher", "rows?_size=80").json()
    assert body["columns"][0] == "meter_secret_id"
    pseudonyms = [r[0] for r in body["rows"]]
    assert all(p.startswith("p") and gate_world.SECRET_KEY not in p for p in pseudonyms)
    assert len(set(pseudonyms)) == 40  # one per subject, stable within the agreement
    # filters and groups see the pseudonym, never the stored key
    one = pseudonyms[0]
    body = _get(client, world, "owner:publisher", f"rows?meter_secret_id={one}&_count=1").json()
    assert body["count"] > 0 and {r[0] for r in body["rows"]} == {one}
    body = _get(client, world, "owner:publisher", "rows?meter_secret_id=MTR-SENTINEL-000").json()
    assert body["rows"] == []
    groups = _get(client, world, "owner:publisher", "rows?_group_by=meter_secret_id").json()
    assert len(groups["rows"]) == 40 and gate_world.SECRET_KEY not in str(groups)
    # another key (another agreement): other pseudonyms, that cannot be linked
    parts[0] = rowpolicy.PolicyPart(
        transforms={"meter_secret_id": rowpolicy.Transform("pseudonymise", key="cd" * 16)}
    )
    other = _get(client, world, "owner:publisher", "rows?_size=80").json()
    assert not {r[0] for r in other["rows"]} & set(pseudonyms)
    # direct identifiers never leave, pseudonymised or not
    parts[0] = rowpolicy.PolicyPart(
        transforms={"resident_secret_name": rowpolicy.Transform("pseudonymise", key=KEY)}
    )
    body = _get(client, world, "owner:publisher", "rows").json()
    assert "resident_secret_name" not in body["columns"]


def test_generalised_columns_hidden_columns_and_row_filters(
    client: TestClient, world: GateWorld, parts: Parts
) -> None:
    parts.append(
        rowpolicy.PolicyPart(
            hide=frozenset({"kwh"}),
            transforms={
                "ts": rowpolicy.Transform("generalise", level="month"),
                "postcode": rowpolicy.Transform("generalise", level="prefix:2"),
            },
            row_filters=(rowpolicy.RowFilter("postcode", "in", ("1701", "1702")),),
        )
    )
    body = _get(client, world, "owner:publisher", "rows?_size=max&_count=1").json()
    assert body["columns"] == ["postcode", "ts"]
    assert {r[0] for r in body["rows"]} == {"17"}
    assert {r[1][8:] for r in body["rows"]} == {"01T00:00:00"}
    assert body["count"] == sum(1 for i in range(gate_world.ROWS) if i % 9 in (1, 2))
    groups = _get(client, world, "owner:publisher", "rows?_group_by=ts&_agg=count").json()
    assert [g[0][:7] for g in groups["rows"]] == ["2025-03", "2025-04"]
    resp = client.get(
        f"/api/v1/datasets/{world.dataset.slug}/rows?_col=kwh",
        headers=world.headers["owner:publisher"],
    )
    assert resp.status_code == 422  # hidden: a column that is not there


def test_transforms_are_checked() -> None:
    with pytest.raises(ValueError):
        rowpolicy.Transform("pseudonymise", key="short")
    with pytest.raises(ValueError):
        rowpolicy.Transform("generalise", level="decade'; DROP")
    with pytest.raises(ValueError):
        rowpolicy.RowFilter("a", "contains; DROP", ("x",))


def _ledger(session: Session, world: GateWorld) -> list[Any]:
    from sqlalchemy import select

    from datatorg.privacy.models import Disclosure

    session.expire_all()
    return list(
        session.scalars(
            select(Disclosure)
            .where(Disclosure.dataset_id == world.dataset.id)
            .order_by(Disclosure.id)
        )
    )


def test_the_disclosure_ledger_gets_the_subject_keys_that_left(
    client: TestClient, session: Session, world: GateWorld, parts: Parts
) -> None:
    """Under a ledger policy, each read under an agreement writes one ledger entry (privacy's
    table) with the subject keys of the rows it returned, in the read's audit transaction —
    for every face; the subject keys themselves never leave. Aggregates and reads without an
    agreement write none."""
    from datatorg.privacy import ledger

    parts.append(rowpolicy.PolicyPart(ledger=True))
    assert _ledger(session, world) == []
    body = _get(client, world, "agreement-token", "rows?_size=7").json()  # the direct route
    assert body["columns"] == ["postcode", "ts", "kwh"] and len(body["rows"]) == 7
    assert gate_world.SECRET_KEY not in str(body)
    [first] = _ledger(session, world)
    assert first.agreement_id == world.agreement_id and first.rows == 7
    assert first.channel == "api" and first.version == body["version"]
    fingerprints = {first.subjects[i : i + 8] for i in range(0, len(first.subjects), 8)}
    assert fingerprints == {ledger.fingerprint(k) for k in keys(7)}
    # the hidden key column does not disturb the cursor: the next page follows on
    following = client.get(body["next_url"], headers=world.headers["agreement-token"]).json()
    assert following["rows"][0][1] > body["rows"][-1][1] and len(following["rows"]) == 7
    second = _ledger(session, world)[-1]
    assert len(second.subjects) == 8 * 7 and second.subjects != first.subjects
    session.delete(second)
    session.flush()
    csv_text = _get(client, world, "agreement-token", "download.csv?_size=50").text
    assert gate_world.SECRET_KEY not in csv_text and len(csv_text.splitlines()) == 51
    _get(client, world, "agreement-token", "download.parquet?_size=3")
    page = client.get(
        f"/datasets/{world.dataset.slug}/data", headers=world.headers["agreement-token"]
    )
    assert page.status_code == 200
    ckan = client.get(
        "/api/3/action/datastore_search",
        params={"resource_id": world.dataset.slug, "limit": 4},
        headers=world.headers["agreement-token"],
    )
    assert ckan.status_code == 200 and len(ckan.json()["result"]["records"]) == 4
    _get(client, world, "agreement-token", "rows?_agg=count")  # aggregates: nothing leaves
    _get(client, world, "agreement-token", "stats")
    _get(client, world, "owner:steward", "rows?_size=3")  # no agreement: no disclosure
    entries = _ledger(session, world)
    sizes = {"api": 7, "download.csv": 50, "download.parquet": 3, "page": 25, "ckan": 4}
    # (the data page's preview rows; its statistics and charts are aggregates)
    assert [(e.channel, e.rows) for e in entries] == list(sizes.items())
    assert len(entries[1].subjects) == 8 * 40  # 50 rows of 40 subjects (default order)
    for i, key in enumerate(sorted(keys(40))):  # subject i is in the rows i, i + 40, ...
        found = {d.channel for d in ledger.for_subject(session=session, subject_key=key)}
        assert found == {channel for channel, n in sizes.items() if i < n}
    # without the ledger part, nothing more is written
    parts.clear()
    _get(client, world, "agreement-token", "rows?_size=2")
    assert len(_ledger(session, world)) == 5
