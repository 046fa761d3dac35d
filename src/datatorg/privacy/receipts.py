"""Signed JSON receipts of consent records (ISO/IEC TS 27560 fields, W3C DPV terms)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.db.base import utcnow
from datatorg.privacy import crypto, vocab
from datatorg.privacy.consents import METHOD, events_of, state_at
from datatorg.privacy.models import Consent, Notice, Subject
from datatorg.privacy.scopes import recipients, scope_info
from datatorg.privacy.subjects import keys_of
from datatorg.settings import Settings
from datatorg.web.urls import base_for


def receipt(
    *, session: Session, settings: Settings, consent: Consent, now: datetime | None = None
) -> dict[str, Any]:
    """The consent record as a signed JSON receipt (ISO/IEC TS 27560 fields, DPV terms).

    ``proof.signature`` is Ed25519 over the canonical JSON (sorted keys, no spaces, UTF-8) of
    the receipt without its ``proof``; the key is at ``proof.verificationMethod``.
    """
    now = now or utcnow()
    subject = session.get(Subject, consent.subject_id)
    assert subject is not None
    info = scope_info(session, consent)
    base = base_for(settings)
    notice = session.get(Notice, consent.notice_id)
    assert notice is not None
    events = events_of(session=session, consent=consent)
    notice_versions = {
        n.id: n.version
        for n in session.scalars(select(Notice).where(Notice.id.in_({e.notice_id for e in events})))
    }
    state = state_at(consent, now)
    body: dict[str, Any] = {
        "@context": {"dpv": vocab.DPV, "dct": "http://purl.org/dc/terms/"},
        "schema": "ISO/IEC TS 27560:2023 consent record, expressed with W3C DPV 2.1",
        "record_id": f"urn:uuid:{consent.id}",
        "data_subject": subject.subject_key,
        "controller": {"name": info.controller, "id": info.controller_id},
        "purpose": {"term": consent.purpose, "iri": vocab.DPV + consent.purpose},
        "legal_basis": vocab.DPV + "Consent",
        "consent_type": vocab.DPV + METHOD,
        "notice": {
            "id": str(notice.id),
            "version": notice.version,
            "title": {"nb": notice.title_nb, "en": notice.title_en},
            "text": {"nb": notice.text_nb, "en": notice.text_en},
        },
        "scope": {"kind": info.kind, "ref": info.ref, "label": info.label},
        "recipients": recipients(session, consent, now),
        "retention": notice.retention,
        "withdrawal_method": {
            "web": f"{base}/my/consents",
            "api": f"{base}/api/v1/me/consents/{consent.id}/withdraw",
        },
        "state": vocab.DPV + state.value,
        "expires_at": consent.expires_at.isoformat() if consent.expires_at else None,
        "events": [
            {
                "at": e.at.isoformat(),
                "state": vocab.DPV + e.state.value,
                "notice_version": notice_versions.get(e.notice_id),
                "expressed_by": vocab.DPV + e.method,
                "channel": e.channel,
                "expires_at": e.expires_at.isoformat() if e.expires_at else None,
            }
            for e in events
        ],
        "issued_at": now.isoformat(),
    }
    keys = keys_of(settings)
    jwk = keys.public_jwk()
    body["proof"] = {
        "type": "Ed25519Signature",
        "created": now.isoformat(),
        "verificationMethod": f"{base}/api/v1/privacy/receipt-key",
        "kid": jwk["kid"],
        "signature": keys.sign(crypto.canonical(body)),
    }
    return body


def verify_receipt(document: dict[str, Any], jwk: dict[str, str]) -> bool:
    """Whether a receipt is unchanged since the platform signed it with ``jwk``'s key."""
    proof = document.get("proof")
    if not isinstance(proof, dict) or not isinstance(proof.get("signature"), str):
        return False
    body = {k: v for k, v in document.items() if k != "proof"}
    return crypto.verify(body, proof["signature"], jwk)
