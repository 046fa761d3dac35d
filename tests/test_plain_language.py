"""Plain language: every code has bokmål and English words, and bokmål pages show no code,
English label or English system message from the label registry."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.access.query import OPS
from datatorg.catalog.models import AccessRights, Classification, Dataset, DatasetStatus
from datatorg.catalog.vocab import DATA_CATEGORIES, FREQUENCIES, LICENCES, THEMES
from datatorg.demo import world
from datatorg.identity.models import OrgKind, Role, User
from datatorg.lake.models import UploadStatus, WriteMode
from datatorg.lake.schema import ROLES, STORAGE
from datatorg.market.models import (
    AccessRequest,
    Agreement,
    AgreementState,
    NegotiationState,
    Offer,
    PriceModel,
)
from datatorg.market.states import Event
from datatorg.market.vocab import legal_bases, purposes
from datatorg.settings import Settings
from datatorg.web import labels
from tests.factories import make_token
from tests.plain import english_leaks, visible_text

ENUMS = [
    ("org_kind", OrgKind),
    ("role", Role),
    ("access_rights", AccessRights),
    ("classification", Classification),
    ("dataset_status", DatasetStatus),
    ("write_mode", WriteMode),
    ("upload_status", UploadStatus),
    ("negotiation_state", NegotiationState),
    ("negotiation_event", Event),
    ("agreement_state", AgreementState),
    ("price_model", PriceModel),
]


def test_every_code_has_bokmal_and_english_words() -> None:
    for kind, enum_cls in ENUMS:
        assert labels.enums()[kind] is enum_cls
        for member in enum_cls:
            assert labels.has(kind, member), (kind, member)
    vocabularies = {
        "purpose": purposes(),
        "legal_basis": legal_bases(),
        "theme": THEMES,
        "frequency": FREQUENCIES,
        "licence": LICENCES,
        "data_category": DATA_CATEGORIES,
        "column_type": STORAGE,
        "column_role": dict.fromkeys(ROLES),
        "filter_op": dict.fromkeys(OPS),
        "agreement_state": {"expired": 1, "pending": 1},
    }
    for kind, values in vocabularies.items():
        for value in values:
            assert labels.has(kind, value), (kind, value)
    for kind, value, words in labels.entries():
        assert words.nb.strip() and words.en.strip(), (kind, value)
        assert labels.label(kind, value, "nb") == words.nb
        assert labels.label(kind, value, "en") == words.en


def test_the_check_finds_codes_and_english_but_not_data() -> None:
    leaks = english_leaks("<body><main><p>Status: REQUESTED</p></main></body>")
    assert any("REQUESTED" in leak for leak in leaks)
    assert english_leaks("<body><p>Formål: Scientific Research</p></body>")
    assert english_leaks("<body><p>Several agreements cover this dataset; choose one.</p></body>")
    data = '<body><table translate="no"><tr><td>public_sector</td></tr></table><p>Åpen</p></body>'
    assert english_leaks(data) == []
    assert visible_text('<body><a lang="en">English</a> Norsk</body>') == "Norsk"


def _ids(session: Session) -> dict[str, str]:
    def first(stmt: object) -> str:
        found = session.scalar(stmt)  # type: ignore[call-overload]
        assert found is not None, stmt
        return str(found)

    energy = first(select(Dataset.id).where(Dataset.slug == "energibruk-kommunale-bygg"))
    return {
        "offer": first(select(Offer.id).where(Offer.dataset_id == uuid.UUID(energy))),
        "waiting": first(
            select(AccessRequest.id).where(AccessRequest.state == NegotiationState.requested)
        ),
        "agreement": first(
            select(Agreement.id).where(Agreement.state == AgreementState.active).limit(1)
        ),
    }


def test_bokmal_pages_show_no_codes_or_english(
    client: TestClient, session: Session, settings: Settings
) -> None:
    world.load(session=session, settings=settings, small=True)
    ids = _ids(session)
    users = {u.email: u for u in session.scalars(select(User))}
    as_ = {
        who: make_token(session, users[f"{who}@demo.datatorg.no"])
        for who in ("consumer", "steward", "publisher")
    }
    restricted = session.scalar(
        select(Dataset.slug).where(
            Dataset.slug == "legevakt-henvendelser", Dataset.status == DatasetStatus.published
        )
    )
    pages = [
        (None, "/"),
        (None, "/datasets"),
        (None, "/datasets?q=luft&access_rights=PUBLIC"),
        (None, "/datasets/luftkvalitet-halden"),
        (None, "/datasets/luftkvalitet-halden/data"),
        (None, "/datasets/luftkvalitet-halden/data?no2__gte=20&_sort_desc=no2"),
        (None, f"/datasets/{restricted}"),
        (None, "/register"),
        (None, "/market/offers"),
        (None, f"/market/offers/{ids['offer']}"),
        (None, "/catalog"),
        (None, "/datasets/finnes-ikke"),
        ("consumer", f"/datasets/{restricted}"),
        ("consumer", f"/market/offers/{ids['offer']}"),
        ("consumer", "/datasets/energibruk-kommunale-bygg/data"),  # two agreements: choose
        ("consumer", "/market/requests"),
        ("consumer", "/market/agreements"),
        ("consumer", f"/market/agreements/{ids['agreement']}"),
        ("consumer", "/market/inbox"),
        ("steward", "/market/queue"),
        ("steward", "/market/queue?show=all"),
        ("steward", f"/market/requests/{ids['waiting']}"),
        ("steward", f"/market/requests/{ids['waiting']}/approve"),
        ("steward", "/market/inbox"),
        ("steward", "/account"),  # an e-mail address such as steward@… is data, not a code
        ("steward", "/my/data"),
        ("publisher", "/my/datasets"),
        ("publisher", "/datasets/energibruk-kommunale-bygg"),
        ("publisher", "/datasets/energibruk-kommunale-bygg/upload"),
        ("publisher", "/datasets/eiendomsskatt/edit"),  # the English fields say lang="en"
        ("publisher", "/market/offers/new?dataset=energibruk-kommunale-bygg"),
    ]
    found = {}
    for who, path in pages:
        headers = {"Accept": "text/html"} | (as_[who] if who else {})
        r = client.get(path, headers=headers)
        assert r.status_code in (200, 404), (who, path, r.status_code)
        leaks = english_leaks(r.text)
        if leaks:
            found[f"{who or 'public'} {path}"] = leaks
    assert found == {}, "\n".join(f"{page}: {leaks}" for page, leaks in found.items())
