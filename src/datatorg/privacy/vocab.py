"""Words for the privacy domain's codes: purposes, states, scopes, request types, categories.

Purposes are the marketplace's DPV 2.1 list plus ``DataAltruism`` (donations); legal bases
the marketplace's; data categories a few DPV personal-data terms. Every code has an English
label (the msgid) translated to bokmål in ``privacy.po``; pages show labels, never codes.
"""

from __future__ import annotations

from datatorg.market import vocab as market_vocab
from datatorg.web.i18n import current_locale, gettext

DPV = "https://w3id.org/dpv#"


def N_(message: str) -> str:
    """Mark ``message`` for translation (translated when shown)."""
    return message


DATA_ALTRUISM = "DataAltruism"
_EXTRA_PURPOSES = {
    DATA_ALTRUISM: (
        N_("Data altruism"),
        N_("Giving your data for the common good, as the EU Data Governance Act describes."),
    )
}

STATE_LABELS = {
    "ConsentGiven": N_("Consent given"),
    "RenewedConsentGiven": N_("Consent given again"),
    "ConsentWithdrawn": N_("Consent withdrawn"),
    "ConsentExpired": N_("Consent expired"),
    "ConsentRevoked": N_("Consent revoked"),
    "ConsentInvalidated": N_("Consent invalidated"),
}
SCOPE_LABELS = {
    "dataset": N_("One dataset"),
    "provider": N_("Every dataset of one provider"),
    "category": N_("A kind of data"),
    "pilot": N_("One pilot in the living lab"),
}
# DPV personal-data categories a dataset declaration and a consent scope may name.
CATEGORY_LABELS = {
    "ObservedPersonalData": N_("Data observed about you (such as meter readings)"),
    "ProvidedPersonalData": N_("Data you provided yourself"),
    "DerivedPersonalData": N_("Data derived from other data about you"),
    "SensitivePersonalData": N_("Sensitive data (such as health and care)"),
}
IDENTITY_LABELS = {
    "national_id": N_("National identity number"),
    "email": N_("E-mail address"),
    "customer_number": N_("Customer number"),
    "meter_number": N_("Meter number"),
    "subject_key": N_("Pseudonymous key"),
}
REQUEST_TYPE_LABELS = {
    "access": N_("Access and copy of my data"),
    "rectification": N_("Correction of my data"),
    "erasure": N_("Erasure of my data"),
    "restriction": N_("Restriction of processing"),
    "objection": N_("Objection to processing"),
}
REQUEST_STATE_LABELS = {
    "received": N_("Received, identity to be checked"),
    "verified": N_("Identity checked, being handled"),
    "extended": N_("Being handled, deadline extended"),
    "completed": N_("Completed"),
    "rejected": N_("Rejected"),
    "withdrawn": N_("Withdrawn"),
}
CHANNEL_LABELS = {
    "web": N_("on the web page"),
    "api": N_("through the API"),
    "demo": N_("in the demo data"),
    "system": N_("by the platform"),
}


def purposes() -> dict[str, tuple[str, str]]:
    """Purpose term → (label, explanation), in the current language."""
    loc = current_locale()
    out = {t: (p.label(loc), p.explanation(loc)) for t, p in market_vocab.purposes().items()}
    out |= {t: (gettext(lbl), gettext(expl)) for t, (lbl, expl) in _EXTRA_PURPOSES.items()}
    return out


def purpose_terms() -> frozenset[str]:
    return frozenset(market_vocab.purposes()) | frozenset(_EXTRA_PURPOSES)


def purpose_label(term: str) -> str:
    return purposes().get(term, (term, ""))[0]


def legal_basis_label(term: str) -> str:
    found = market_vocab.legal_bases().get(term)
    return found.label(current_locale()) if found else term


def legal_basis_terms() -> frozenset[str]:
    return frozenset(market_vocab.legal_bases())


def label(table: dict[str, str], code: str) -> str:
    """The label of ``code`` in ``table``, translated; the code itself only if unknown."""
    return gettext(table[code]) if code in table else code


def gettext_private() -> str:
    """How a private person who received data is shown (never by name)."""
    return gettext("private individual")
