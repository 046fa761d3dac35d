"""The privacy demo: declared datasets hold keys, ~60 % consent, the citizen's story, a
pending erasure request, IFE's agreement under consent; loading twice adds nothing."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datatorg.demo import privacy as privacy_demo
from datatorg.demo import world
from datatorg.market.models import Agreement
from datatorg.privacy.models import Consent, RequestState, Subject, SubjectRequest
from datatorg.settings import Settings
from tests.factories import actor_of, make_token
from tests.privacy.scan import lake_hits


def test_privacy_demo(client: TestClient, session: Session, settings: Settings) -> None:
    world.load(session=session, settings=settings, small=True)
    counts = [
        session.scalar(select(func.count()).select_from(t))
        for t in (Subject, Consent, SubjectRequest, Agreement)
    ]
    again = privacy_demo.load(session=session, settings=settings, password=world.DEMO_PASSWORD)
    assert again == {"subjects": 0, "consents": 0}
    assert [
        session.scalar(select(func.count()).select_from(t))
        for t in (Subject, Consent, SubjectRequest, Agreement)
    ] == counts
    research = [
        n for n in range(1, privacy_demo.RESIDENTS + 1) if privacy_demo.consents_to_research(n)
    ]
    assert 0.5 < len(research) / privacy_demo.RESIDENTS < 0.7
    assert counts[1] > len(research) // 2
    pending = session.scalars(
        select(SubjectRequest).where(SubjectRequest.state == RequestState.received)
    ).all()
    assert [r.type.value for r in pending] == ["erasure"]
    # the city's resident numbers are gone from every file: the lake holds subject keys
    # and no meter point id (an identity) is in any file either: only in the registry, sealed
    meters = [privacy_demo.meter(42), privacy_demo.meter(8)]
    assert all(meters)
    assert lake_hits(settings.lake_path, ["I-000042", "I-000007", *map(str, meters)]) == []
    from datatorg.identity.service import get_user_by_email

    ola = get_user_by_email(session=session, email="citizen@demo.datatorg.no")
    assert ola is not None
    body = client.get("/api/v1/me/data", headers=make_token(session, ola)).json()
    held = {d["dataset"] for d in body["datasets"]}
    assert held >= {
        "smartmaler-husholdninger",
        "hjemmetjeneste-vedtak",
        "innbyggerdialog",
        "donerte-strommalinger",
    }
    assert {c["state"] for c in body["consents"]} >= {"ConsentGiven", "ConsentWithdrawn"}
    assert "I-000042" in json.dumps(body["identities"])
    agreements = select(func.count()).select_from(Agreement)
    consent_based = agreements.where(
        Agreement.purpose == "ScientificResearch", Agreement.legal_basis == "Consent"
    )
    assert session.scalar(consent_based) == 1
    # IFE's agreement shows the consent filter at work: only consenting households' readings
    from datatorg.access import service as access
    from datatorg.demo.contents.base import span

    ife = get_user_by_email(session=session, email="forsker@ife.demo.datatorg.no")
    assert ife is not None
    consenting = [n for n in range(2, 401, 2) if privacy_demo.consents_to_research(n)]
    page = access.read_dataset(
        session=session,
        settings=settings,
        actor=actor_of(session, ife),
        ref=privacy_demo.METERS,
        items=[("_agg", "count")],
        channel="api",
    )
    hours = span(True, 2160, 48)
    assert page.rows[0][0] == hours * len(consenting) < hours * 200
