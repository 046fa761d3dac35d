"""Words for the marketplace's codes: negotiation and agreement states, events, prices,
purposes and legal bases (DPV: the plain label; the IRI stays data), refusal reasons and
form errors (see ``datatorg.web.labels``)."""

from __future__ import annotations

from datatorg.market.models import AgreementState, NegotiationState, PriceModel
from datatorg.market.states import Event
from datatorg.market.vocab import legal_bases, purposes
from datatorg.web.labels import register, register_enum

register_enum(
    "negotiation_state",
    NegotiationState,
    {
        NegotiationState.requested: ("Sendt – venter på svar", "Sent – waiting for an answer"),
        NegotiationState.offered: ("Motbud – venter på deg", "Counter-offer – waiting for you"),
        NegotiationState.accepted: ("Motbud godtatt", "Counter-offer accepted"),
        NegotiationState.agreed: ("Avtalt", "Agreed"),
        NegotiationState.verified: ("Bekreftet", "Confirmed"),
        NegotiationState.finalized: ("Godkjent – avtale inngått", "Approved – agreement made"),
        NegotiationState.terminated: ("Avsluttet", "Closed"),
    },
)
register_enum(
    "negotiation_event",
    Event,
    {
        Event.request: ("Forespørsel sendt", "Request sent"),
        Event.offer: ("Motbud sendt", "Counter-offer sent"),
        Event.accept: ("Motbud godtatt", "Counter-offer accepted"),
        Event.agree: ("Godkjent", "Approved"),
        Event.verify: ("Avtalen bekreftet", "Agreement confirmed"),
        Event.finalize: ("Avtalen trådte i kraft", "Agreement took effect"),
        Event.terminate: ("Avsluttet (avslått eller trukket)", "Closed (rejected or withdrawn)"),
    },
)
AGREEMENT_STATES = {
    AgreementState.active: ("Aktiv", "Active"),
    AgreementState.suspended: ("Stanset midlertidig", "Suspended"),
    AgreementState.revoked: ("Trukket tilbake av tilbyderen", "Revoked by the provider"),
    AgreementState.terminated: ("Avsluttet av mottakeren", "Ended by the recipient"),
}
register_enum("agreement_state", AgreementState, AGREEMENT_STATES)
# shown by date: ``agreements.effective_state``
register(
    "agreement_state",
    {"expired": ("Utløpt", "Expired"), "pending": ("Ikke startet ennå", "Not started yet")},
)
register_enum(
    "price_model",
    PriceModel,
    {
        PriceModel.free: ("Gratis", "Free"),
        PriceModel.monthly: ("Fast pris per måned", "Fixed price per month"),
        PriceModel.per_call: ("Pris per kall", "Price per call"),
        PriceModel.per_1000_rows: ("Pris per 1000 rader", "Price per 1,000 rows"),
    },
)
register("purpose", {t: (p.label_nb, p.label_en) for t, p in purposes().items()})
register(
    "purpose_explanation",
    {t: (p.explanation_nb, p.explanation_en) for t, p in purposes().items()},
)
register("legal_basis", {t: (b.label_nb, b.label_en) for t, b in legal_bases().items()})

# Why the gate refused a read under an agreement (``AgreementCheck.failed_term``)
register(
    "failed_term",
    {
        "agreement": (
            "Du har ingen avtale som gir tilgang til dette datasettet. Be om tilgang fra "
            "datasettets side.",
            "You hold no agreement that gives access to this dataset. Ask for access on the "
            "dataset's page.",
        ),
        "ambiguous": (
            "Du har flere avtaler om dette datasettet. Velg hvilken du leser etter.",
            "You hold several agreements on this dataset. Choose the one you read under.",
        ),
        "assignee": (
            "Avtalen ble inngått med noen andre.",
            "The agreement was made with someone else.",
        ),
        "state": (
            "Avtalen er stanset eller avsluttet. Se avtalen for årsaken.",
            "The agreement is suspended or has ended. See the agreement for why.",
        ),
        "period": (
            "Avtalen gjelder ikke i dag: den har ikke startet, eller den er utløpt.",
            "The agreement does not apply today: it has not started, or it has expired.",
        ),
        "purpose": (
            "Avtalen gjelder et annet formål.",
            "The agreement is for another purpose.",
        ),
        "columns": (
            "Avtalen gir ikke tilgang til alle kolonnene du ba om. Velg bare kolonnene i avtalen.",
            "The agreement does not cover every column you asked for. Choose only the "
            "agreement's columns.",
        ),
        "aggregate": (
            "Avtalen gir bare tilgang til sammenstillinger (summer, gjennomsnitt, antall), "
            "ikke enkeltrader.",
            "The agreement allows aggregates only (sums, averages, counts), not single rows.",
        ),
        "quota": (
            "Kvoten i avtalen er brukt opp. Du kan lese igjen når den fornyes.",
            "The agreement's quota is used up. You can read again when it renews.",
        ),
    },
)

# Form errors of the marketplace's forms (``Invalid(errors=[{"field", "code", "params"}])``)
register(
    "form_error",
    {
        "organisation_required": (
            "Velg hvilken organisasjon du ber om tilgang for.",
            "Choose which organisation you ask for access for.",
        ),
        "purpose_missing": (
            "Velg et formål: det som best beskriver hva du skal bruke dataene til.",
            "Choose a purpose: the one that best says what you will use the data for.",
        ),
        "purpose_not_offered": (
            "Tilbudet tillater ikke dette formålet. Velg et av formålene i listen.",
            "The offer does not allow this purpose. Choose one of the purposes listed.",
        ),
        "period_end_before_start": (
            "Siste dag må være etter første dag.",
            "The last day must be after the first day.",
        ),
        "period_too_long": (
            "Perioden kan være høyst {days} dager. Velg en tidligere siste dag.",
            "The period can be at most {days} days. Choose an earlier last day.",
        ),
        "period_start_past": (
            "Første dag kan ikke være tilbake i tid. Velg i dag eller senere.",
            "The first day cannot be in the past. Choose today or later.",
        ),
        "period_start_too_far": (
            "Første dag kan være høyst ett år fram i tid.",
            "The first day can be at most a year ahead.",
        ),
        "columns_not_offered": (
            "Disse kolonnene er ikke med i tilbudet: {columns}. Velg blant kolonnene i listen.",
            "These columns are not in the offer: {columns}. Choose among the columns listed.",
        ),
        "kind_not_allowed": (
            "Tilbudet er ikke åpent for organisasjoner av typen «{kind}».",
            "The offer is not open to organisations of the kind “{kind}”.",
        ),
        "owner_needs_no_agreement": (
            "Organisasjonen din eier datasettet; dere trenger ingen avtale for å lese det.",
            "Your organisation owns the dataset; you need no agreement to read it.",
        ),
        "counter_not_narrower": (
            "Et motbud må ha færre kolonner eller en kortere periode enn forespørselen.",
            "A counter-offer must have fewer columns or a shorter period than the request.",
        ),
        "counter_columns_widen": (
            "Et motbud kan bare ta bort kolonner, ikke legge til.",
            "A counter-offer can only take columns away, not add them.",
        ),
        "counter_period_outside": (
            "Siste dag må være innenfor perioden det ble bedt om.",
            "The last day must be within the period asked for.",
        ),
        "free_has_price": (
            "Et gratis tilbud har ingen pris. Sett prisen til 0 eller velg en annen prismodell.",
            "A free offer has no price. Set the price to 0 or choose another price model.",
        ),
        "priced_needs_price": (
            "Sett en pris over 0 for denne prismodellen.",
            "Set a price above 0 for this price model.",
        ),
        "auto_approve_high_risk": (
            "Personopplysninger, fortrolige data og begrensede data på radnivå må godkjennes "
            "av en dataforvalter. Ta bort avkrysningen for å godkjenne med en gang.",
            "Personal, confidential and row-level restricted data need a steward's approval. "
            "Untick approving at once.",
        ),
        "unknown_columns": (
            "Datasettet har ikke disse kolonnene: {columns}. Velg blant datasettets kolonner.",
            "The dataset has no such columns: {columns}. Choose among the dataset's columns.",
        ),
        "no_columns_yet": (
            "Datasettet har ikke noe innhold ennå, så kolonnene kan ikke velges. Last opp data "
            "først, eller la feltet stå tomt (alle kolonner).",
            "The dataset has no contents yet, so no columns can be chosen. Upload data first, "
            "or leave it empty (all columns).",
        ),
        "purpose_unknown": (
            "Velg et formål fra listen.",
            "Choose a purpose from the list.",
        ),
        "legal_basis_unknown": (
            "Velg et behandlingsgrunnlag fra listen.",
            "Choose a legal basis from the list.",
        ),
        "reason_required": (
            "Skriv en kort begrunnelse.",
            "Write a short reason.",
        ),
    },
)
