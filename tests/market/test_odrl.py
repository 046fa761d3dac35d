"""ODRL: every offer and agreement expands (offline, with bundled contexts) to the right IRIs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pyld import jsonld
from sqlalchemy.orm import Session

from datatorg.market import odrl, service
from datatorg.market.models import Offer, PriceModel
from datatorg.market.vocab import purposes
from tests.factories import actor_of
from tests.market.conftest import World, offer_data, request_data

ODRL = "http://www.w3.org/ns/odrl/2/"
DPV = "https://w3id.org/dpv#"
BASE = "https://testserver"


def _ids(node: dict[str, Any], key: str) -> list[str]:
    return [v["@id"] for v in node.get(key, [])]


def _constraints(expanded: dict[str, Any]) -> dict[str, dict[str, Any]]:
    perm = expanded[ODRL + "permission"][0]
    return {_ids(c, ODRL + "leftOperand")[0]: c for c in perm[ODRL + "constraint"]}


def _offer_doc(session: Session, offer: Offer) -> dict[str, Any]:
    return odrl.offer_document(offer, base_url=BASE, dataset_slug="ds", assigner_slug="org")


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"aggregate_only": True, "columns": None, "calls_per_day": None, "rows_per_month": None},
        {
            "price_model": "per_1000_rows",
            "price_nok": "2.50",
            "attribution_required": False,
            "redistribution_prohibited": False,
        },
        {"price_model": "monthly", "price_nok": "990.00", "purposes": list(purposes())},
    ],
)
def test_every_offer_expands_to_odrl_and_dpv_iris(
    session: Session, world: World, kw: dict[str, Any]
) -> None:
    offer = service.create_offer(
        session=session,
        actor=actor_of(session, world.publisher),
        data=offer_data(world.dataset, **kw),
    )
    [expanded] = odrl.expand(_offer_doc(session, offer))
    assert expanded["@type"] == [ODRL + "Offer"]
    assert expanded["@id"] == f"{BASE}/api/v1/offers/{offer.id}"
    assert _ids(expanded, ODRL + "assigner") == [f"{BASE}/organisations/org"]
    perm = expanded[ODRL + "permission"][0]
    assert _ids(perm, ODRL + "action") == [ODRL + "use"]
    assert _ids(perm, ODRL + "target") == [f"{BASE}/datasets/ds"]
    cons = _constraints(expanded)
    purpose = cons[ODRL + "purpose"]
    assert _ids(purpose, ODRL + "operator") == [ODRL + "isAnyOf"]
    assert sorted(_ids(purpose, ODRL + "rightOperand")) == sorted(DPV + p for p in offer.purposes)
    assert ODRL + "elapsedTime" in cons
    assert (ODRL + "count" in cons) == (offer.calls_per_day is not None)
    # every left operand is an absolute IRI in ODRL's or Datatorg's profile namespace
    assert all(k.startswith((ODRL, odrl.DTG)) for k in cons)
    duties = [_ids(d, ODRL + "action")[0] for d in perm.get(ODRL + "duty", [])]
    assert (ODRL + "attribute" in duties) == offer.attribution_required
    assert (ODRL + "compensate" in duties) == (offer.price_model != PriceModel.free)
    prohibitions = expanded.get(ODRL + "prohibition", [])
    assert bool(prohibitions) == offer.redistribution_prohibited
    if prohibitions:
        assert _ids(prohibitions[0], ODRL + "action") == [ODRL + "distribute"]
    assert _ids(expanded, DPV + "hasLegalBasis") == [DPV + "Contract"]


def test_price_is_an_xsd_decimal_in_nok(session: Session, world: World) -> None:
    offer = service.create_offer(
        session=session,
        actor=actor_of(session, world.publisher),
        data=offer_data(world.dataset, price_model="per_call", price_nok=Decimal("0.25")),
    )
    [expanded] = odrl.expand(_offer_doc(session, offer))
    duty = [
        d
        for d in expanded[ODRL + "permission"][0][ODRL + "duty"]
        if _ids(d, ODRL + "action") == [ODRL + "compensate"]
    ][0]
    pay = duty[ODRL + "constraint"][0]
    assert _ids(pay, ODRL + "leftOperand") == [ODRL + "payAmount"]
    assert pay[ODRL + "rightOperand"] == [
        {"@value": "0.25", "@type": "http://www.w3.org/2001/XMLSchema#decimal"}
    ]


def test_agreement_expands_with_period_assignee_and_hash(session: Session, world: World) -> None:
    req = service.create_request(
        session=session,
        settings=None,
        actor=actor_of(session, world.consumer),
        data=request_data(world.offer),
    )
    a = service.approve(
        session=session, settings=None, actor=actor_of(session, world.steward), request_id=req.id
    )
    doc = odrl.agreement_document(
        a,
        base_url=BASE,
        dataset_slug="ds",
        assigner_slug="org",
        assignee_iri=f"{BASE}/organisations/uni",
    )
    [expanded] = odrl.expand(doc)
    assert expanded["@type"] == [ODRL + "Agreement"]
    assert _ids(expanded, ODRL + "assignee") == [f"{BASE}/organisations/uni"]
    perm = expanded[ODRL + "permission"][0]
    times = [
        c for c in perm[ODRL + "constraint"] if _ids(c, ODRL + "leftOperand") == [ODRL + "dateTime"]
    ]
    assert sorted(_ids(c, ODRL + "operator")[0] for c in times) == [ODRL + "gteq", ODRL + "lt"]
    purpose = _constraints(expanded)[ODRL + "purpose"]
    assert _ids(purpose, ODRL + "rightOperand") == [DPV + "AcademicResearch"]
    hashes = expanded[odrl.DTG + "contentHash"]
    assert hashes == [{"@value": a.content_hash}]


def test_the_loader_refuses_any_url_it_does_not_bundle() -> None:
    with pytest.raises(jsonld.JsonLdError):
        odrl.document_loader("https://example.org/evil.jsonld")
    doc = {"@context": "https://example.org/evil.jsonld", "@id": "urn:x", "urn:p": "v"}
    with pytest.raises(jsonld.JsonLdError):
        odrl.expand(doc)
