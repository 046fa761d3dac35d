"""The demo world has contents for every dataset, and every link it advertises answers.

The world is loaded small (``small=True``: the same series, a short slice) so the suite stays
fast; the full world runs the same queries over longer ranges.
"""

from __future__ import annotations

import duckdb
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.catalog.models import Dataset
from datatorg.demo import catalog as demo_catalog
from datatorg.demo import world
from datatorg.demo.contents import CONTENTS
from datatorg.demo.contents.personal import CITIZEN_KEY
from datatorg.identity import service as identity
from datatorg.identity.models import Membership, Role, User
from datatorg.lake.schema import table_type
from datatorg.market import service as market
from datatorg.market.models import Agreement, AgreementState
from datatorg.settings import Settings
from tests.factories import make_token

PERSONAL = ("smartmaler-husholdninger", "hjemmetjeneste-vedtak", "innbyggerdialog")


def test_every_catalog_dataset_has_generated_contents() -> None:
    slugs = {row["slug"] for row in demo_catalog.rows()}
    assert slugs == set(CONTENTS)


@pytest.mark.parametrize("slug", sorted(CONTENTS))
def test_contents_have_their_declared_columns_and_are_deterministic(slug: str) -> None:
    contents = CONTENTS[slug]
    sql = contents.sql(small=True)
    rel = duckdb.sql(sql)
    got = [(name, table_type(str(t))) for name, t in zip(rel.columns, rel.types, strict=True)]
    assert got == [(c.name, c.type) for c in contents.columns]
    first = duckdb.sql(f"SELECT count(*), md5(string_agg(t::VARCHAR, '|')) FROM ({sql}) t")
    again = duckdb.sql(f"SELECT count(*), md5(string_agg(t::VARCHAR, '|')) FROM ({sql}) t")
    assert first.fetchall() == again.fetchall()
    assert first.fetchall()[0][0] > 0
    assert all(c.title for c in contents.columns)  # pages show a Norwegian title per column


@pytest.mark.parametrize("slug", PERSONAL)
def test_personal_datasets_carry_the_shared_subject_key(slug: str) -> None:
    contents = CONTENTS[slug]
    keys = [c.name for c in contents.columns if c.role == "subject_key"]
    assert keys == ["innbygger_id"]
    # identities are never in clear in the lake: privacy keeps them encrypted (issue 13)
    assert [c.name for c in contents.columns if c.role == "direct_identifier"] == []
    sql = contents.sql(small=True)
    found = duckdb.sql(
        f"SELECT count(*) FILTER (WHERE innbygger_id = '{CITIZEN_KEY}'),"
        f" count(*) FILTER (WHERE NOT regexp_full_match(innbygger_id, 'I-0[0-9]{{5}}'))"
        f" FROM ({sql})"
    ).fetchall()[0]
    assert found[0] > 0  # the demo citizen has rows, also in the small world
    assert found[1] == 0


def _member_of(session: Session, dataset: Dataset) -> User:
    user = session.scalar(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.organisation_id == dataset.publisher_id,
            Membership.role == Role.publisher,
        )
        .limit(1)
    )
    assert user is not None
    return user


def test_every_advertised_distribution_and_row_link_answers_and_agreements_read(
    client: TestClient, session: Session, settings: Settings
) -> None:
    world.load(session=session, settings=settings, small=True)
    datasets = list(session.scalars(select(Dataset).order_by(Dataset.slug)))
    assert {d.slug for d in datasets} >= set(CONTENTS)
    headers: dict[object, dict[str, str]] = {}
    for ds in datasets:
        meta = client.get(f"/api/v1/datasets/{ds.slug}").json()
        if ds.is_open:
            auth: dict[str, str] = {}
        else:
            if ds.publisher_id not in headers:
                headers[ds.publisher_id] = make_token(session, _member_of(session, ds))
            auth = headers[ds.publisher_id]
            # a stranger is told to sign in, not shown a broken link
            assert client.get(f"/api/v1/datasets/{ds.slug}/rows").status_code == 401
        rows = client.get(f"/api/v1/datasets/{ds.slug}/rows?_size=5", headers=auth)
        assert rows.status_code == 200, (ds.slug, rows.text)
        assert rows.json()["rows"], ds.slug
        # a publisher reads every column but direct identifiers and subject keys (those are
        # the steward's: need to know, docs/data.md)
        shown = [
            f["name"]
            for f in meta["fields"]
            if ds.is_open or f["data_category"] not in ("identifier", "pseudonym")
        ]
        assert shown == rows.json()["columns"], ds.slug
        page = client.get(f"/datasets/{ds.slug}/data", headers=auth)
        assert page.status_code == 200 and "<table" in page.text, ds.slug
        for dist in meta["distributions"]:
            url = dist["download_url"] or dist["access_url"]
            path = "/" + url.split("://", 1)[1].split("/", 1)[1]
            r = client.get(path, headers=auth)
            assert r.status_code == 200, (ds.slug, dist["format"], path, r.status_code)
            assert r.content, (ds.slug, path)
    _agreements_in_force_read_successfully(client, session)


def _agreements_in_force_read_successfully(client: TestClient, session: Session) -> None:
    """Every demo agreement in force admits a read through its own agreement token."""
    active = [
        a
        for a in session.scalars(select(Agreement).where(Agreement.state == AgreementState.active))
        if market.effective_state(a) == "active"
    ]
    assert len(active) >= 2
    read = 0
    for agreement in active:
        user = session.get(User, agreement.assignee_user_id)
        ds = session.get(Dataset, agreement.dataset_id)
        assert user is not None and ds is not None
        token, _ = identity.create_token(
            session=session, user=user, name="demo", agreement_id=agreement.id
        )
        auth = {"Authorization": f"Bearer {token}"}
        params = "_size=5"
        if agreement.columns is not None:
            params += "&_col=" + ",".join(agreement.columns)
        if agreement.aggregate_only:
            params = "_agg=count"
        r = client.get(f"/api/v1/datasets/{ds.slug}/rows?{params}", headers=auth)
        assert r.status_code == 200, (ds.slug, agreement.purpose, r.text)
        assert r.json()["rows"], ds.slug
        read += 1
    assert read >= 2
