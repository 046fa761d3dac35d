"""Offers and agreements as ODRL 2.2 policies in JSON-LD, with purposes as DPV IRIs.

Left operands are written as full ``odrl:`` IRIs; the terms ODRL has no operand for
(consumer kind, columns, aggregate-only, quota windows) use Datatorg's profile namespace.
Contexts are served from files bundled in this package: ``document_loader`` refuses every
URL it does not hold, so expanding a policy never touches the network.
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from pyld import jsonld

from datatorg.market.models import Agreement, Offer, PriceModel
from datatorg.market.vocab import legal_bases, purpose_iri

ODRL = "http://www.w3.org/ns/odrl/2/"
ODRL_CONTEXT_URL = "http://www.w3.org/ns/odrl.jsonld"
XSD = "http://www.w3.org/2001/XMLSchema#"
DTG = "https://datatorg.halden.kommune.no/ns/market#"
PROFILE = "https://datatorg.halden.kommune.no/ns/market"
NOK = "https://www.iso.org/iso-4217-currency-codes.html#NOK"
CONTEXTS = Path(__file__).with_name("contexts")

BUNDLED = {
    ODRL_CONTEXT_URL: CONTEXTS / "odrl.jsonld",
    "https://www.w3.org/ns/odrl.jsonld": CONTEXTS / "odrl.jsonld",
}

LOCAL_CONTEXT: dict[str, Any] = {
    "dpv": "https://w3id.org/dpv#",
    "dtg": DTG,
    "dct": "http://purl.org/dc/terms/",
    "xsd": XSD,
    "title": "dct:title",
    "license": {"@id": "dct:license", "@type": "@id"},
    "hasLegalBasis": {"@id": "dpv:hasLegalBasis", "@type": "@id"},
    "contentHash": "dtg:contentHash",
    "agreedAt": {"@id": "dct:issued", "@type": "xsd:dateTime"},
}
CONTEXT: list[Any] = [ODRL_CONTEXT_URL, LOCAL_CONTEXT]


class NetworkRefused(Exception):
    """A JSON-LD document was asked for that is not bundled."""


@cache
def _bundled(url: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(BUNDLED[url].read_text(encoding="utf-8"))
    return doc


def document_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """A pyld document loader that serves bundled contexts only and never opens a socket."""
    if url not in BUNDLED:
        raise jsonld.JsonLdError(
            "Only bundled JSON-LD contexts are loaded",
            "jsonld.LoadDocumentError",
            {"url": url},
            code="loading document failed",
        )
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": _bundled(url),
    }


def expand(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """``doc`` expanded with the bundled contexts (offline)."""
    result: list[dict[str, Any]] = jsonld.expand(doc, {"documentLoader": document_loader})
    return result


def _constraint(left: str, operator: str, right: Any, unit: str | None = None) -> dict[str, Any]:
    c: dict[str, Any] = {"leftOperand": left, "operator": operator, "rightOperand": right}
    if unit:
        c["unit"] = unit
    return c


def _terms(
    *,
    purposes: list[str],
    columns: list[str] | None,
    aggregate_only: bool,
    calls_per_day: int | None,
    rows_per_month: int | None,
) -> list[dict[str, Any]]:
    out = [
        _constraint(
            ODRL + "purpose", "isAnyOf", [{"@id": purpose_iri(p)} for p in sorted(purposes)]
        )
    ]
    if columns is not None:
        out.append(_constraint(DTG + "column", "isAllOf", sorted(columns)))
    out.append(_constraint(DTG + "aggregateOnly", "eq", aggregate_only))
    if calls_per_day is not None:
        out.append(_constraint(ODRL + "count", "lteq", calls_per_day, DTG + "callsPerDay"))
    if rows_per_month is not None:
        out.append(_constraint(DTG + "rowCount", "lteq", rows_per_month, DTG + "rowsPerMonth"))
    return out


def _price_duty(model: PriceModel, amount: Decimal) -> list[dict[str, Any]]:
    if model == PriceModel.free:
        return []
    unit = {
        PriceModel.monthly: DTG + "perMonth",
        PriceModel.per_call: DTG + "perCall",
        PriceModel.per_1000_rows: DTG + "per1000Rows",
    }[model]
    pay = _constraint(
        ODRL + "payAmount", "eq", {"@value": f"{amount:.2f}", "@type": XSD + "decimal"}, NOK
    )
    pay["dtg:priceModel"] = {"@id": unit}
    return [{"action": "compensate", "constraint": [pay]}]


def _rules(
    *,
    target: str,
    terms: list[dict[str, Any]],
    attribution: bool,
    no_redistribution: bool,
    price: list[dict[str, Any]],
) -> dict[str, Any]:
    duties = ([{"action": "attribute"}] if attribution else []) + price
    permission: dict[str, Any] = {"target": target, "action": "use", "constraint": terms}
    if duties:
        permission["duty"] = duties
    rules: dict[str, Any] = {"permission": [permission]}
    if no_redistribution:
        rules["prohibition"] = [{"target": target, "action": "distribute"}]
    return rules


def offer_document(
    offer: Offer, *, base_url: str, dataset_slug: str, assigner_slug: str
) -> dict[str, Any]:
    """The ODRL Offer for ``offer``."""
    target = f"{base_url}/datasets/{dataset_slug}"
    terms = _terms(
        purposes=offer.purposes,
        columns=offer.columns,
        aggregate_only=offer.aggregate_only,
        calls_per_day=offer.calls_per_day,
        rows_per_month=offer.rows_per_month,
    )
    terms.append(
        _constraint(
            ODRL + "elapsedTime",
            "lteq",
            {"@value": f"P{offer.max_period_days}D", "@type": XSD + "duration"},
        )
    )
    if offer.consumer_kinds:
        terms.append(_constraint(DTG + "consumerKind", "isAnyOf", sorted(offer.consumer_kinds)))
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "@type": "Offer",
        "uid": f"{base_url}/api/v1/offers/{offer.id}",
        "profile": PROFILE,
        "title": offer.title,
        "assigner": f"{base_url}/organisations/{assigner_slug}",
        "target": target,
        "hasLegalBasis": legal_bases()[offer.legal_basis].iri,
    }
    if offer.licence:
        doc["license"] = offer.licence
    doc.update(
        _rules(
            target=target,
            terms=terms,
            attribution=offer.attribution_required,
            no_redistribution=offer.redistribution_prohibited,
            price=_price_duty(offer.price_model, offer.price_nok),
        )
    )
    return doc


def agreement_document(
    agreement: Agreement,
    *,
    base_url: str,
    dataset_slug: str,
    assigner_slug: str,
    assignee_iri: str,
) -> dict[str, Any]:
    """The ODRL Agreement for ``agreement``, carrying its content hash."""
    target = f"{base_url}/datasets/{dataset_slug}"
    terms = _terms(
        purposes=[agreement.purpose],
        columns=agreement.columns,
        aggregate_only=agreement.aggregate_only,
        calls_per_day=agreement.calls_per_day,
        rows_per_month=agreement.rows_per_month,
    )
    terms.append(
        _constraint(
            ODRL + "dateTime",
            "gteq",
            {"@value": agreement.valid_from.isoformat(), "@type": XSD + "dateTime"},
        )
    )
    terms.append(
        _constraint(
            ODRL + "dateTime",
            "lt",
            {"@value": agreement.valid_until.isoformat(), "@type": XSD + "dateTime"},
        )
    )
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "@type": "Agreement",
        "uid": f"{base_url}/api/v1/agreements/{agreement.id}",
        "profile": PROFILE,
        "assigner": f"{base_url}/organisations/{assigner_slug}",
        "assignee": assignee_iri,
        "target": target,
        "hasLegalBasis": legal_bases()[agreement.legal_basis].iri,
        "agreedAt": agreement.agreed_at.isoformat(),
        "contentHash": agreement.content_hash,
    }
    if agreement.licence:
        doc["license"] = agreement.licence
    doc.update(
        _rules(
            target=target,
            terms=terms,
            attribution=agreement.attribution_required,
            no_redistribution=agreement.redistribution_prohibited,
            price=_price_duty(agreement.price_model, agreement.price_nok),
        )
    )
    return doc
