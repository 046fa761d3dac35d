"""Consent: notices, give and withdraw per purpose and scope, history, derived state,
signed receipts, and the keys the gate's filter gets."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from datatorg.db.base import utcnow
from datatorg.errors import Invalid, NotFound
from datatorg.privacy import service as privacy
from datatorg.privacy.models import ConsentEvent, ConsentState, ScopeKind
from datatorg.settings import Settings
from tests.factories import make_org
from tests.privacy.helpers import personal_dataset


def _subject(session: Session, settings: Settings):  # type: ignore[no-untyped-def]
    return privacy.new_subject(session, settings)


def test_give_and_withdraw_are_one_call_each_and_leave_history(
    session: Session, settings: Settings
) -> None:
    org = make_org(session)
    ds = personal_dataset(session, org)
    subject = _subject(session, settings)
    t0 = utcnow()
    consent = privacy.give(
        session=session,
        subject=subject,
        purpose="ScientificResearch",
        scope_kind=ScopeKind.dataset,
        scope_ref=ds.slug,
        now=t0,
    )
    assert consent.scope_ref == str(ds.id)
    keys = privacy.valid_subject_keys(
        session=session, dataset_id=ds.id, publisher_id=org.id, purpose="ScientificResearch", now=t0
    )
    assert keys == {subject.subject_key}
    assert (
        privacy.valid_subject_keys(
            session=session,
            dataset_id=ds.id,
            publisher_id=org.id,
            purpose="CommercialResearch",
            now=t0,
        )
        == set()
    )
    privacy.withdraw(
        session=session, subject=subject, consent_id=consent.id, now=t0 + timedelta(seconds=1)
    )
    assert (
        privacy.valid_subject_keys(
            session=session,
            dataset_id=ds.id,
            publisher_id=org.id,
            purpose="ScientificResearch",
            now=t0 + timedelta(seconds=1),
        )
        == set()
    )
    # giving again renews the same record; withdrawing twice changes nothing
    privacy.give(
        session=session,
        subject=subject,
        purpose="ScientificResearch",
        scope_kind=ScopeKind.dataset,
        scope_ref=str(ds.id),
        now=t0 + timedelta(seconds=2),
    )
    privacy.withdraw(
        session=session, subject=subject, consent_id=consent.id, now=t0 + timedelta(seconds=3)
    )
    privacy.withdraw(
        session=session, subject=subject, consent_id=consent.id, now=t0 + timedelta(seconds=4)
    )
    states = [e.state for e in privacy.events_of(session=session, consent=consent)]
    assert states == [
        ConsentState.given,
        ConsentState.withdrawn,
        ConsentState.renewed,
        ConsentState.withdrawn,
    ]


def test_history_is_append_only(session: Session, settings: Settings) -> None:
    org = make_org(session)
    subject = _subject(session, settings)
    consent = privacy.give(
        session=session,
        subject=subject,
        purpose="ImprovePublicServices",
        scope_kind=ScopeKind.provider,
        scope_ref=str(org.id),
    )
    event = privacy.events_of(session=session, consent=consent)[0]
    assert isinstance(event, ConsentEvent)
    event.channel = "api"
    with pytest.raises(ValueError, match="append-only"):
        session.flush()
    session.rollback()


def test_expiry_counts_from_the_instant_it_passes(session: Session, settings: Settings) -> None:
    org = make_org(session)
    ds = personal_dataset(session, org, categories=("ObservedPersonalData",))
    subject = _subject(session, settings)
    t0 = utcnow()
    consent = privacy.give(
        session=session,
        subject=subject,
        purpose="CombatClimateChange",
        scope_kind=ScopeKind.category,
        scope_ref="ObservedPersonalData",
        expires_at=t0 + timedelta(days=30),
        now=t0,
    )
    args = {
        "session": session,
        "dataset_id": ds.id,
        "publisher_id": org.id,
        "purpose": "CombatClimateChange",
    }
    assert privacy.valid_subject_keys(**args, now=t0 + timedelta(days=29)) == {subject.subject_key}
    assert privacy.valid_subject_keys(**args, now=t0 + timedelta(days=30)) == set()
    assert privacy.state_at(consent, t0 + timedelta(days=31)) == ConsentState.expired
    assert privacy.expire_due(session=session, now=t0 + timedelta(days=31)) >= 1
    assert consent.state == ConsentState.expired
    with pytest.raises(Invalid):
        privacy.give(
            session=session,
            subject=subject,
            purpose="CombatClimateChange",
            scope_kind=ScopeKind.category,
            scope_ref="ObservedPersonalData",
            expires_at=t0 - timedelta(days=1),
            now=t0,
        )


def test_restriction_removes_a_subject_from_every_purpose(
    session: Session, settings: Settings
) -> None:
    org = make_org(session)
    ds = personal_dataset(session, org)
    subject = _subject(session, settings)
    privacy.give(
        session=session,
        subject=subject,
        purpose="ScientificResearch",
        scope_kind=ScopeKind.provider,
        scope_ref=str(org.id),
    )
    subject.restricted_at = utcnow()
    assert (
        privacy.valid_subject_keys(
            session=session, dataset_id=ds.id, publisher_id=org.id, purpose="ScientificResearch"
        )
        == set()
    )


def test_bad_purposes_and_scopes_are_refused(session: Session, settings: Settings) -> None:
    subject = _subject(session, settings)
    for purpose, kind, ref in [
        ("Advertising", ScopeKind.category, "ObservedPersonalData"),
        ("ScientificResearch", ScopeKind.category, "Bogus"),
        ("ScientificResearch", ScopeKind.dataset, "no-such-dataset"),
        ("ScientificResearch", ScopeKind.provider, "not-a-uuid"),
        ("ScientificResearch", ScopeKind.provider, "00000000-0000-0000-0000-000000000000"),
        ("ScientificResearch", ScopeKind.dataset, "x" * 500),
    ]:
        with pytest.raises(Invalid):
            privacy.give(
                session=session, subject=subject, purpose=purpose, scope_kind=kind, scope_ref=ref
            )
    other = _subject(session, settings)
    consent = privacy.give(
        session=session,
        subject=subject,
        purpose="ScientificResearch",
        scope_kind=ScopeKind.category,
        scope_ref="ObservedPersonalData",
    )
    with pytest.raises(NotFound):
        privacy.withdraw(session=session, subject=other, consent_id=consent.id)


def test_notices_are_versioned_and_consents_keep_theirs(
    session: Session, settings: Settings
) -> None:
    from datatorg.identity.actor import Actor

    subject = _subject(session, settings)
    first = privacy.current_notice(session=session, purpose="AcademicResearch")
    consent = privacy.give(
        session=session,
        subject=subject,
        purpose="AcademicResearch",
        scope_kind=ScopeKind.category,
        scope_ref="ObservedPersonalData",
    )
    assert consent.notice_id == first.id
    second = privacy.publish_notice(
        session=session,
        actor=Actor(),
        purpose="AcademicResearch",
        texts={"title_nb": "Ny", "title_en": "New", "text_nb": "Ny tekst", "text_en": "New text"},
        retention="P1Y",
    )
    assert second.version == first.version + 1
    assert consent.notice_id == first.id
    privacy.give(
        session=session,
        subject=subject,
        purpose="AcademicResearch",
        scope_kind=ScopeKind.category,
        scope_ref="ObservedPersonalData",
    )
    assert consent.notice_id == second.id  # consenting again is consenting to the new text


def test_receipts_are_signed_and_tampering_shows(session: Session, settings: Settings) -> None:
    org = make_org(session)
    ds = personal_dataset(session, org)
    subject = _subject(session, settings)
    consent = privacy.give(
        session=session,
        subject=subject,
        purpose="ScientificResearch",
        scope_kind=ScopeKind.dataset,
        scope_ref=str(ds.id),
    )
    doc = privacy.receipt(session=session, settings=settings, consent=consent)
    jwk = privacy.receipt_key(settings=settings)
    assert privacy.verify_receipt(doc, jwk)
    for field in (
        "record_id",
        "data_subject",
        "controller",
        "purpose",
        "legal_basis",
        "notice",
        "recipients",
        "retention",
        "withdrawal_method",
        "events",
        "state",
    ):
        assert field in doc
    assert doc["state"] == "https://w3id.org/dpv#ConsentGiven"
    assert doc["data_subject"] == subject.subject_key
    forged = copy.deepcopy(doc)
    forged["purpose"]["term"] = "CommercialResearch"
    assert not privacy.verify_receipt(forged, jwk)
    other = privacy.keys_of(settings).__class__("another-secret-of-at-least-32-characters!!")
    assert not privacy.verify_receipt(doc, other.public_jwk())
    assert not privacy.verify_receipt({"proof": {"signature": "x"}}, jwk)
