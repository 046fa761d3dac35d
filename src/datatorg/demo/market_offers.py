"""An offer on every non-open demo dataset, so every one can be asked for from its page.

Each is set by a publisher of the owning organisation, with columns from the dataset's real
contents (``demo/contents``). Idempotent: a dataset that has an offer gets no other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.catalog.models import Dataset
from datatorg.identity import service as identity
from datatorg.identity.models import Membership, Organisation, Role, User
from datatorg.market import service
from datatorg.market.models import Offer, PriceModel
from datatorg.market.schemas import OfferCreate

RESEARCH = ["ScientificResearch", "AcademicResearch", "ImprovePublicServices"]
STUDY = ["research", "education", "public_sector"]


@dataclass(frozen=True)
class DemoOffer:
    slug: str
    title: str
    purposes: list[str] = field(default_factory=lambda: list(RESEARCH))
    kinds: list[str] = field(default_factory=lambda: list(STUDY))
    columns: list[str] | None = None
    aggregate_only: bool = False
    legal_basis: str = "Contract"
    auto_approve: bool = False
    price_model: PriceModel = PriceModel.free
    price_nok: Decimal = Decimal("0")
    max_period_days: int = 365
    calls_per_day: int | None = 1000


OFFERS = [
    DemoOffer(
        "hjemmetjeneste-vedtak",
        "Statistikk for utvikling av hjemmetjenestene",
        purposes=["ImprovePublicServices", "ScientificResearch", "ProvideOfficialStatistics"],
        columns=["vedtaksdato", "tjeneste", "timer_per_uke", "sone", "utfall"],
        aggregate_only=True,
        legal_basis="PublicInterest",
        max_period_days=180,
    ),
    DemoOffer(
        "innbyggerdialog",
        "Innspill til tjenesteutvikling og forskning",
        purposes=["ImprovePublicServices", "PublicPolicyMaking", "AcademicResearch"],
        columns=["mottatt", "kanal", "tema", "bydel", "innspill", "status"],
        legal_basis="PublicInterest",
        max_period_days=180,
    ),
    DemoOffer(
        "legevakt-henvendelser",
        "Forskning og utvikling av legevakten",
    ),
    DemoOffer(
        "brannvesen-utrykninger",
        "Beredskapsanalyse",
        purposes=["ImprovePublicServices", "ScientificResearch", "PublicPolicyMaking"],
    ),
    DemoOffer(
        "elevundersokelsen",
        "Skoleforskning og kvalitetsutvikling",
        auto_approve=True,
    ),
    DemoOffer(
        "helsestasjon-besok",
        "Planlegging av helsestasjonstjenesten",
        purposes=["ImprovePublicServices", "ScientificResearch"],
        auto_approve=True,
    ),
    DemoOffer(
        "bysykkel-turer",
        "Bysykkeldata for mobilitetsanalyse",
        purposes=["ImproveTransportMobility", "ResearchAndDevelopment", "AcademicResearch"],
        kinds=["research", "education", "public_sector", "business"],
        auto_approve=True,
    ),
    DemoOffer(
        "fjernvarme-nett",
        "Fjernvarmenettet for planlegging",
        purposes=["ImprovePublicServices", "ServiceOptimisation"],
        kinds=["public_sector", "business"],
        columns=[
            "ledning_id",
            "gate",
            "dimensjon_mm",
            "lengde_m",
            "anlagt_aar",
            "tilstandsgrad_pct",
        ],
        price_model=PriceModel.monthly,
        price_nok=Decimal("1500.00"),
    ),
    DemoOffer(
        "sensor-bygg-inneklima",
        "Inneklima og læring",
        kinds=["research", "education", "public_sector", "business"],
        price_model=PriceModel.per_call,
        price_nok=Decimal("0.05"),
        calls_per_day=5000,
    ),
]


def _publisher(session: Session, org_id: object) -> User | None:
    """A publisher (or admin) of the organisation, to set the offer as."""
    return session.scalar(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.organisation_id == org_id, Membership.role.in_([Role.publisher, Role.admin])
        )
        .order_by(User.email)
        .limit(1)
    )


def load(*, session: Session) -> int:
    """Set the demo offers that are missing; returns how many were set."""
    made = 0
    for spec in OFFERS:
        ds = session.scalar(select(Dataset).where(Dataset.slug == spec.slug))
        if ds is None or ds.is_open:
            continue
        if session.scalar(select(Offer.id).where(Offer.dataset_id == ds.id).limit(1)):
            continue
        org = session.get(Organisation, ds.publisher_id)
        user = _publisher(session, ds.publisher_id) if org else None
        if user is None:
            continue
        service.create_offer(
            session=session,
            actor=identity.actor_for_user(session=session, user=user),
            data=OfferCreate(
                dataset=spec.slug,
                title=spec.title,
                licence="https://data.norge.no/nlod/no/2.0",
                purposes=spec.purposes,
                consumer_kinds=spec.kinds,
                columns=spec.columns,
                aggregate_only=spec.aggregate_only,
                max_period_days=spec.max_period_days,
                calls_per_day=spec.calls_per_day,
                price_model=spec.price_model,
                price_nok=spec.price_nok,
                legal_basis=spec.legal_basis,
                auto_approve=spec.auto_approve,
            ),
        )
        made += 1
    session.flush()
    return made
