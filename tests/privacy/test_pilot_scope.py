"""A consent for one living-lab pilot (``ScopeKind.pilot``): given and withdrawn through
``privacy.service`` by the pilots domain, it covers the reads under agreements made for that
pilot and no other; citizens see it on My consents and withdraw it there, but join a pilot
only on the pilot's page."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.db.base import utcnow
from datatorg.errors import Invalid
from datatorg.market.models import AccessRequest, Agreement, Offer, PriceModel
from datatorg.pilots.models import Domain, Idea, Pilot, PilotDataRequest, SubmitterKind
from datatorg.privacy import filters, scopes
from datatorg.privacy import service as privacy
from datatorg.privacy.models import ConsentState, ScopeKind
from datatorg.settings import Settings
from tests.factories import make_org, make_token
from tests.privacy.helpers import citizen, personal_dataset


def _pilot(session: Session, title: str) -> Pilot:
    idea = Idea(
        title=title,
        problem="p",
        solution="s",
        submitter_kind=SubmitterKind.citizen,
        domain=Domain.city_development,
    )
    session.add(idea)
    session.flush()
    pilot = Pilot(idea_id=idea.id, title=title, purpose="ImprovePublicServices")
    session.add(pilot)
    session.flush()
    return pilot


def _agreement_for(
    session: Session, pilot: Pilot | None, dataset_id: uuid.UUID, org_id: uuid.UUID
) -> Agreement:
    consumer = citizen(session)
    now = utcnow()
    a = Agreement(
        dataset_id=dataset_id,
        assigner_org_id=org_id,
        assignee_user_id=consumer.id,
        purpose="ImprovePublicServices",
        legal_basis="Consent",
        columns=None,
        aggregate_only=False,
        price_model=PriceModel.free,
        price_nok=0,
        licence="",
        attribution_required=True,
        redistribution_prohibited=True,
        valid_from=now - timedelta(days=1),
        valid_until=now + timedelta(days=30),
        agreed_at=now,
        content_hash=uuid.uuid4().hex,
    )
    session.add(a)
    session.flush()
    if pilot is not None:
        offer = Offer(dataset_id=dataset_id, title="o", price_nok=Decimal(0))
        session.add(offer)
        session.flush()
        req = AccessRequest(
            offer_id=offer.id,
            dataset_id=dataset_id,
            provider_org_id=org_id,
            consumer_user_id=consumer.id,
            purpose="ImprovePublicServices",
            period_start=date.today(),
            period_end=date.today() + timedelta(days=30),
            columns=None,
            due_at=now,
            agreement_id=a.id,
        )
        session.add(req)
        session.flush()
        session.add(PilotDataRequest(pilot_id=pilot.id, access_request_id=req.id))
        session.flush()
    return a


def test_a_pilot_consent_covers_only_that_pilots_reads(
    session: Session, settings: Settings
) -> None:
    org = make_org(session)
    ds = personal_dataset(session, org)
    one, two = _pilot(session, "Smartere strøm"), _pilot(session, "Grønnere gater")
    for_one = _agreement_for(session, one, ds.id, org.id)
    for_two = _agreement_for(session, two, ds.id, org.id)
    plain = _agreement_for(session, None, ds.id, org.id)
    person = privacy.subject_for_user(session=session, settings=settings, user=citizen(session))
    consent = privacy.give(
        session=session,
        subject=person,
        purpose="ImprovePublicServices",
        scope_kind="pilot",  # type: ignore[arg-type]  # pilots may pass the plain word
        scope_ref=str(one.id),
    )
    assert consent.scope_kind == ScopeKind.pilot

    def keep(agreement: Agreement) -> frozenset[str] | None:
        found = filters.subject_filter(
            session=session,
            dataset_id=ds.id,
            publisher_id=org.id,
            purpose="ImprovePublicServices",
            owner=False,
            agreement_id=agreement.id,
        )
        assert found is not None
        return found[0]

    assert keep(for_one) == {person.subject_key}
    assert keep(for_two) == frozenset()  # another pilot with the same purpose
    assert keep(plain) == frozenset()
    info = scopes.scope_info(session, consent)
    assert "Smartere strøm" in info.label
    assert scopes.recipients(session, consent, utcnow()) == []  # assignee is a person

    privacy.withdraw(session=session, subject=person, consent_id=consent.id)
    assert privacy.state_at(consent, utcnow()) == ConsentState.withdrawn
    assert keep(for_one) == frozenset()
    with pytest.raises(Invalid):
        privacy.give(
            session=session,
            subject=person,
            purpose="ImprovePublicServices",
            scope_kind=ScopeKind.pilot,
            scope_ref=str(uuid.uuid4()),  # no such pilot
        )


def test_citizens_join_pilots_on_the_pilot_page_not_here(
    session: Session, settings: Settings, client: TestClient
) -> None:
    pilot = _pilot(session, "Smartere strøm")
    auth = make_token(session, citizen(session))
    r = client.post(
        "/api/v1/me/consents",
        json={
            "purpose": "ImprovePublicServices",
            "scope_kind": "pilot",
            "scope_ref": str(pilot.id),
        },
        headers=auth,
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "scope_kind"
    assert client.get("/api/v1/me/consents", headers=auth).json()["items"] == []
    # a pilot consent given on the pilot's page shows on My consents, withdrawable there;
    # giving it again is done by joining the pilot again
    user = citizen(session)
    auth = make_token(session, user)
    person = privacy.subject_for_user(session=session, settings=settings, user=user)
    consent = privacy.give(
        session=session,
        subject=person,
        purpose="ImprovePublicServices",
        scope_kind=ScopeKind.pilot,
        scope_ref=str(pilot.id),
    )
    page = client.get("/my/consents", headers=auth)
    assert "Pilot: Smartere strøm" in page.text
    assert f"/my/consents/{consent.id}/withdraw" in page.text
    privacy.withdraw(session=session, subject=person, consent_id=consent.id)
    page = client.get("/my/consents", headers=auth)
    assert f'href="/pilots/{pilot.id}"' in page.text
    assert f'value="pilot:{pilot.id}"' not in page.text
