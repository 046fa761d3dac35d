"""The public register: no login, no personal data, search, pagination, CSV, chart."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.catalog.models import AccessRights, Classification
from datatorg.identity.models import Role
from datatorg.market import service
from tests.factories import actor_of, make_org, make_user
from tests.market.conftest import World, make_dataset, offer_data, request_data


def _agree(session: Session, world: World, consumer_user: object, **kw: object) -> None:
    req = service.create_request(
        session=session,
        settings=None,
        actor=actor_of(session, consumer_user),  # type: ignore[arg-type]
        data=request_data(world.offer, **kw),
    )
    service.approve(
        session=session, settings=None, actor=actor_of(session, world.steward), request_id=req.id
    )


def test_register_shows_agreements_without_login_or_personal_data(
    client: TestClient, session: Session, world: World
) -> None:
    _agree(session, world, world.consumer)
    private = make_user(session, email="ola.privat@example.no")
    _agree(session, world, private, purpose="ScientificResearch")
    for url in ("/register", "/register.json", "/register.csv"):
        r = client.get(url)
        assert r.status_code == 200, url
        for secret in (
            world.consumer.email,
            world.consumer.display_name,
            private.email,
            private.display_name,
        ):
            assert secret not in r.text, (url, secret)
    data = client.get("/register.json").json()
    assert data["total"] == 2
    recipients = {e["recipient"] for e in data["items"]}
    assert recipients == {world.consumer_org.name, "private individual"}
    assert {e["legal_basis"] for e in data["items"]} == {"Contract"}
    page = client.get("/register").text
    assert "<svg" in page and "<caption>" in page
    rows = list(csv.DictReader(io.StringIO(client.get("/register.csv").text)))
    assert {r["purpose_iri"] for r in rows} == {
        "https://w3id.org/dpv#AcademicResearch",
        "https://w3id.org/dpv#ScientificResearch",
    }


def test_open_data_agreements_are_not_in_the_register(
    client: TestClient, session: Session, world: World
) -> None:
    open_ds = make_dataset(
        session,
        world.provider,
        slug="open-ds",
        access_rights=AccessRights.public,
        classification=Classification.open,
    )
    world.offer = service.create_offer(
        session=session, actor=actor_of(session, world.publisher), data=offer_data(open_ds)
    )
    assert world.offer.auto_approve  # open data never waits
    service.create_request(
        session=session,
        settings=None,
        actor=actor_of(session, world.consumer),
        data=request_data(world.offer),
    )
    assert client.get("/register.json").json()["total"] == 0


def test_register_search_and_pagination(client: TestClient, session: Session, world: World) -> None:
    for i in range(27):  # one agreement per pilot (one per consumer, offer, purpose, period)
        _agree(session, world, world.consumer, pilot_ref=f"/pilots/{i}")
    other = make_org(session, name="Fjordsensor AS")
    person = make_user(session, org=other, roles=(Role.consumer,))
    world.offer.consumer_kinds = [*world.offer.consumer_kinds, other.kind.value]
    _agree(session, world, person, purpose="ImprovePublicServices")
    assert client.get("/register.json").json()["total"] == 28
    assert len(client.get("/register.json?page=2").json()["items"]) == 3
    assert client.get("/register.json?q=fjordsensor").json()["total"] == 1
    assert client.get("/register.json?q=Improve Public").json()["total"] == 1
    assert client.get("/register.json?q=Forbedre offentlige").json()["total"] == 1
    # hostile queries are just text
    for q in ("%", "_", "' OR 1=1 --", "\\", "=cmd|'/C calc'!A0", "../../etc/passwd", "æøå"):
        r = client.get("/register.json", params={"q": q})
        assert r.status_code == 200 and r.json()["total"] == 0, q
    assert client.get("/register.json", params={"q": "x" * 101}).status_code == 422
    assert client.get("/register.json?page=0").status_code == 422


def test_register_csv_is_formula_safe(client: TestClient, session: Session, world: World) -> None:
    world.consumer_org.name = '=HYPERLINK("http://evil")'
    _agree(session, world, world.consumer)
    text = client.get("/register.csv").text
    assert "'=HYPERLINK" in text
    assert ",=HYPERLINK" not in text
