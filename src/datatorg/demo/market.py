"""The marketplace part of the Halden demo world: offers, agreements in several states, a queue.

Deterministic (a seeded random generator for usage, dates relative to the day it runs) and
idempotent: when the demo offers exist, nothing is added.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.catalog.models import AccessRights, Classification, Dataset, DatasetStatus
from datatorg.demo import market_offers
from datatorg.identity import service as identity
from datatorg.identity.models import Organisation, Role, User
from datatorg.market import negotiation, service
from datatorg.market.metering import today as utc_today
from datatorg.market.models import Offer, PriceModel
from datatorg.market.schemas import AccessRequestCreate, CounterOffer, OfferCreate

SEED = 20261126
ENERGY = "energibruk-kommunale-bygg"
METERS = "smartmaler-husholdninger"
# Real columns of the generated contents (demo/contents): offers are checked against them.
ENERGY_COLUMNS = ["dato", "bygg_id", "byggnavn", "bygningstype", "areal_m2", "energikilde", "kwh"]
METER_COLUMNS = ["postnummer", "tidspunkt", "kwh"]

# extra demo consumers: e-mail, display name, organisation slug (None: a private person)
CONSUMERS = [
    ("forsker@ife.demo.datatorg.no", "Ingrid Forsker", "ife"),
    ("utvikler@gronn-start.demo.datatorg.no", "Gunnar Utvikler", "gronn-start"),
]


def _dataset(
    session: Session, org: Organisation, slug: str, title: str, *, personal: bool
) -> Dataset:
    found = session.scalar(select(Dataset).where(Dataset.slug == slug))
    if found is not None:
        return found
    ds = Dataset(
        slug=slug,
        title_nb=title,
        title_en=title,
        publisher_id=org.id,
        access_rights=AccessRights.non_public if personal else AccessRights.restricted,
        classification=Classification.personal if personal else Classification.restricted,
        has_personal_data=personal,
        status=DatasetStatus.published,
        published_at=datetime.now(UTC),
    )
    session.add(ds)
    session.flush()
    return ds


def _user(session: Session, email: str, name: str, password: str) -> User:
    found = identity.get_user_by_email(session=session, email=email)
    if found is not None:
        return found
    return identity.create_user(session=session, email=email, display_name=name, password=password)


def _ask(
    session: Session,
    user: User,
    offer: Offer,
    purpose: str,
    text: str,
    start: date,
    days: int,
    columns: list[str] | None,
    org: str | None = None,
) -> uuid.UUID:
    actor = identity.actor_for_user(session=session, user=user)
    req = negotiation.create_request(
        session=session,
        settings=None,
        actor=actor,
        today=min(start, utc_today()),
        data=AccessRequestCreate(
            offer_id=offer.id,
            purpose=purpose,
            description=text,
            period_start=start,
            period_end=start + timedelta(days=days),
            columns=columns,
            organisation=org,
        ),
    )
    return req.id


def load(*, session: Session, password: str) -> list[tuple[str, str]]:
    """Offers on the restricted demo datasets, agreements in several states, waiting requests.

    Returns the extra demo accounts it made, as (role, e-mail).
    """
    accounts = [("consumer", email) for email, _n, _o in CONSUMERS]
    market_offers.load(session=session)  # one offer on every other non-open dataset
    halden = identity.get_organisation(session=session, ref="halden-kommune")
    energy = _dataset(session, halden, ENERGY, "Energibruk i kommunale bygg", personal=False)
    _dataset(session, halden, METERS, "Smartmålere i husholdninger", personal=True)
    if session.scalar(select(Offer).where(Offer.dataset_id == energy.id)) is not None:
        return accounts
    publisher = identity.get_user_by_email(session=session, email="publisher@demo.datatorg.no")
    steward_user = identity.get_user_by_email(session=session, email="steward@demo.datatorg.no")
    kari = identity.get_user_by_email(session=session, email="consumer@demo.datatorg.no")
    citizen = identity.get_user_by_email(session=session, email="citizen@demo.datatorg.no")
    assert publisher and steward_user and kari and citizen
    users = {}
    for email, name, slug in CONSUMERS:
        users[slug] = _user(session, email, name, password)
        identity.add_membership(
            session=session,
            user=users[slug],
            organisation=identity.get_organisation(session=session, ref=slug),
            role=Role.consumer,
        )
    pub = identity.actor_for_user(session=session, user=publisher)
    steward = identity.actor_for_user(session=session, user=steward_user)

    research = service.create_offer(
        session=session,
        actor=pub,
        data=OfferCreate(
            dataset=ENERGY,
            title="Forskning og undervisning",
            licence="https://data.norge.no/nlod/no/2.0",
            purposes=[
                "ScientificResearch",
                "AcademicResearch",
                "NonCommercialResearch",
                "ImprovePublicServices",
                "CombatClimateChange",
            ],
            consumer_kinds=["research", "education", "public_sector", "private_person", "ngo"],
            columns=ENERGY_COLUMNS,
            max_period_days=365,
            calls_per_day=500,
            rows_per_month=500_000,
        ),
    )
    commercial = service.create_offer(
        session=session,
        actor=pub,
        data=OfferCreate(
            dataset=ENERGY,
            title="Kommersiell bruk",
            purposes=["CommercialResearch", "ServiceProvision"],
            consumer_kinds=["business"],
            columns=["dato", "bygningstype", "areal_m2", "kwh"],
            max_period_days=180,
            calls_per_day=200,
            rows_per_month=200_000,
            price_model=PriceModel.per_1000_rows,
            price_nok=Decimal("2.50"),
        ),
    )
    aggregates = service.create_offer(
        session=session,
        actor=pub,
        data=OfferCreate(
            dataset=METERS,
            title="Aggregert forbruk per postnummer",
            purposes=["ScientificResearch", "ImprovePublicServices", "CombatClimateChange"],
            consumer_kinds=["research", "education", "public_sector"],
            columns=METER_COLUMNS,
            aggregate_only=True,
            max_period_days=180,
            calls_per_day=100,
            rows_per_month=50_000,
            legal_basis="PublicInterest",
        ),
    )

    today = utc_today()
    # Kari (HiØ): active, with usage
    r = _ask(
        session,
        kari,
        research,
        "AcademicResearch",
        "Masteroppgave om energibruk i skolebygg i Halden.",
        today - timedelta(days=40),
        200,
        ["dato", "byggnavn", "bygningstype", "kwh"],
    )
    active = service.approve(session=session, settings=None, actor=steward, request_id=r)
    rng = random.Random(SEED)
    for back in range(30):
        at = datetime.combine(today - timedelta(days=back), time(12), tzinfo=UTC)
        calls = rng.randint(0, 40)
        if calls:
            service.record_usage(
                session=session,
                agreement_id=active.id,
                calls=calls,
                rows=calls * rng.randint(50, 400),
                nbytes=calls * 20_000,
                at=at,
            )
    # Kari again: a second agreement on the same dataset, for another purpose (she picks one)
    r = _ask(
        session,
        kari,
        research,
        "ImprovePublicServices",
        "Studentprosjekt med kommunen: energisparekampanje i skolene.",
        today - timedelta(days=10),
        120,
        None,
    )
    service.approve(session=session, settings=None, actor=steward, request_id=r)
    # Grønn Start: agreed after a counter-offer, then suspended
    r = _ask(
        session,
        users["gronn-start"],
        commercial,
        "ServiceProvision",
        "App som viser energisparing for vaktmestere.",
        today - timedelta(days=20),
        150,
        ["dato", "bygningstype", "areal_m2", "kwh"],
    )
    service.counter_offer(
        session=session,
        settings=None,
        actor=steward,
        request_id=r,
        data=CounterOffer(
            columns=["dato", "bygningstype", "kwh"],
            period_end=today + timedelta(days=90),
            reason="Areal trengs ikke for appen.",
        ),
    )
    consumer_gs = identity.actor_for_user(session=session, user=users["gronn-start"])
    suspended = service.accept(session=session, settings=None, actor=consumer_gs, request_id=r)
    service.suspend(
        session=session,
        settings=None,
        actor=steward,
        agreement_id=suspended.id,
        reason="Venter på oppdatert databehandleravtale.",
    )
    # IFE: an older agreement on the meters, revoked
    r = _ask(
        session,
        users["ife"],
        aggregates,
        "ScientificResearch",
        "Modell for lastprofiler i lavspentnettet.",
        today - timedelta(days=150),
        170,
        None,
    )
    revoked = service.approve(session=session, settings=None, actor=steward, request_id=r)
    service.revoke(
        session=session,
        settings=None,
        actor=steward,
        agreement_id=revoked.id,
        reason="Brukt utenfor avtalt formål.",
    )
    # A private person: an expired agreement
    r = _ask(
        session,
        citizen,
        research,
        "NonCommercialResearch",
        "Egen undersøkelse av energibruk i idrettshaller.",
        today - timedelta(days=120),
        60,
        ["dato", "bygningstype", "kwh"],
    )
    service.approve(session=session, settings=None, actor=steward, request_id=r)
    # waiting in the steward queue
    _ask(
        session,
        users["ife"],
        research,
        "ScientificResearch",
        "Sammenlikning av varmepumper og fjernvarme i kommunale bygg.",
        today + timedelta(days=7),
        365,
        None,
    )
    _ask(
        session,
        kari,
        aggregates,
        "ScientificResearch",
        "Forbruksmønstre per postnummer for et forskningsprosjekt ved HiØ.",
        today + timedelta(days=3),
        120,
        ["postnummer", "tidspunkt", "kwh"],
    )
    _ask(
        session,
        users["gronn-start"],
        commercial,
        "CommercialResearch",
        "Prototyp for prediksjon av energibruk.",
        today + timedelta(days=1),
        180,
        None,
    )
    session.flush()
    return accounts
