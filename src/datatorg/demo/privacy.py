"""The privacy part of the Halden demo world: subjects, citizen accounts, consents, a
donation, requests and a consumer agreement that reads under consent.

* The personal datasets (``smartmaler-husholdninger``, ``hjemmetjeneste-vedtak``,
  ``innbyggerdialog``) are declared: subject column ``innbygger_id`` (the city's resident
  number ``I-000001`` … ``I-000400``, SEAMS.md) or, for older demo contents, ``meter_id``;
  their files then hold pseudonymous subject keys instead (``privacy.service.link_dataset``).
  (The journeys' smart-meter contents also keep the meter point id in a ``direct_identifier``
  column, which only stewards of the owner see; an erasure removes it with the rows.)
* Resident ``n`` has the identity ``I-{n:06d}`` (customer number) and, for the 200
  households with a smart meter, the meter point id (meter number); residents 1–200 have a
  citizen account ``husstand-{n:03d}@demo.datatorg.no``,
  resident 42 is ``citizen@demo.datatorg.no`` (all with the demo password).
* About 60 % of the residents consent to research on the smart-meter data; resident 42 has
  consents in several states, a donated meter export and a completed access request;
  resident 7 has an erasure request waiting in the stewards' queue.
* IFE holds an agreement to read the smart-meter rows for scientific research: its reads
  return only the rows of the residents whose consent holds at that moment.

Deterministic and idempotent: run again, it adds only what is missing.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.catalog import service as catalog
from datatorg.identity import service as identity
from datatorg.identity.models import User
from datatorg.lake import service as lake
from datatorg.market import service as market
from datatorg.market.models import Offer
from datatorg.market.schemas import AccessRequestCreate, OfferCreate
from datatorg.privacy import service as privacy
from datatorg.privacy.models import IdentityKind, RequestType, ScopeKind, Subject
from datatorg.settings import Settings

RESIDENTS = 400
ACCOUNTS = 200
CITIZEN = 42
ERASER = 7
METERS = "smartmaler-husholdninger"
HOME_CARE = "hjemmetjeneste-vedtak"
DIALOGUE = "innbyggerdialog"
# slug → (legal basis, DPV categories)
DECLARED = {
    METERS: ("Consent", ["ObservedPersonalData"]),
    HOME_CARE: ("OfficialAuthorityOfController", ["SensitivePersonalData"]),
    DIALOGUE: ("Consent", ["ProvidedPersonalData"]),
}
OFFER_TITLE = "Forskning på husholdningenes forbruk (samtykke)"


def resident_key(n: int) -> str:
    return f"I-{n:06d}"


def meter(n: int) -> str | None:
    """The meter point id of resident ``n``'s household (even residents 2…400 have one; the
    journeys' smart-meter contents give household m to resident 2m + 2)."""
    if n % 2 or not 2 <= n <= 400:
        return None
    return "707057500" + f"{1042000 + (n - 2) // 2 * 7:09d}"


def email(n: int) -> str:
    return "citizen@demo.datatorg.no" if n == CITIZEN else f"husstand-{n:03d}@demo.datatorg.no"


def consents_to_research(n: int) -> bool:
    """About 60 % of the residents, chosen by a hash (the same every run)."""
    return int(hashlib.sha256(f"research:{n}".encode()).hexdigest(), 16) % 10 < 6


def _declare(session: Session, settings: Settings) -> None:
    for slug, (basis, categories) in DECLARED.items():
        ds = catalog.get_dataset(session=session, ref=slug)
        if ds is None:
            continue
        decl = privacy.declaration(session=session, dataset_id=ds.id)
        if decl is None:
            head = lake.head(session=session, dataset_id=ds.id)
            names = {f["name"] for f in head.table_schema.get("fields", [])} if head else set()
            column, kind = "innbygger_id", IdentityKind.customer_number
            if "innbygger_id" not in names and "meter_id" in names:
                column, kind = "meter_id", IdentityKind.meter_number
            privacy.declare_dataset(
                session=session,
                actor=None,
                dataset=ds,
                subject_column=column,
                identity_kind=kind,
                legal_basis=basis,
                categories=categories,
            )
        privacy.link_dataset(session=session, settings=settings, dataset_id=ds.id)


def _subject(session: Session, settings: Settings, n: int) -> Subject:
    found = privacy.find_by_identity(
        session=session, settings=settings, kind=IdentityKind.customer_number, value=resident_key(n)
    )
    subject = found or privacy.new_subject(session, settings)
    for kind, value in (
        (IdentityKind.customer_number, resident_key(n)),
        (IdentityKind.meter_number, meter(n)),
    ):
        if value is None:
            continue
        privacy.add_identity(
            session=session, settings=settings, subject=subject, kind=kind, value=value
        )
    return subject


def _accounts(session: Session, settings: Settings, password: str) -> dict[int, User]:
    """One citizen account per household with a meter; one password hash for all (the
    demo password), so loading does not run Argon2 two hundred times."""
    shared: str | None = None
    users: dict[int, User] = {}
    for n in range(1, ACCOUNTS + 1):
        user = identity.get_user_by_email(session=session, email=email(n))
        if user is None:
            if shared is None:
                user = identity.create_user(
                    session=session, email=email(n), display_name=f"Husstand {n}", password=password
                )
                shared = user.password_hash
            else:
                user = identity.create_user(
                    session=session, email=email(n), display_name=f"Husstand {n}", password=None
                )
                user.password_hash = shared
        elif shared is None:
            shared = user.password_hash
        users[n] = user
    return users


def _agreement(session: Session, meters_id: object) -> None:
    """IFE's agreement to read smart-meter rows for research, under consent."""
    if session.scalar(select(Offer).where(Offer.title == OFFER_TITLE)) is not None:
        return
    publisher = identity.get_user_by_email(session=session, email="publisher@demo.datatorg.no")
    steward = identity.get_user_by_email(session=session, email="steward@demo.datatorg.no")
    researcher = identity.get_user_by_email(session=session, email="forsker@ife.demo.datatorg.no")
    if publisher is None or steward is None or researcher is None:
        return
    offer = market.create_offer(
        session=session,
        actor=identity.actor_for_user(session=session, user=publisher),
        data=OfferCreate(
            dataset=METERS,
            title=OFFER_TITLE,
            purposes=["ScientificResearch"],
            consumer_kinds=["research"],
            columns=None,
            max_period_days=365,
            calls_per_day=1000,
            legal_basis="Consent",
        ),
    )
    today = datetime.now(UTC).date()
    from datatorg.market import negotiation

    req = negotiation.create_request(
        session=session,
        settings=None,
        actor=identity.actor_for_user(session=session, user=researcher),
        today=today,
        data=AccessRequestCreate(
            offer_id=offer.id,
            purpose="ScientificResearch",
            description="Lastprofiler for husholdninger som har samtykket til forskning.",
            period_start=today,
            period_end=today + timedelta(days=300),
            columns=None,
        ),
    )
    market.approve(
        session=session,
        settings=None,
        actor=identity.actor_for_user(session=session, user=steward),
        request_id=req.id,
    )


def load(*, session: Session, settings: Settings, password: str) -> dict[str, int]:
    """The privacy demo; returns counts of what it made (0s when everything was there)."""
    privacy.ensure_notices(session=session)
    _declare(session, settings)
    meters_ds = catalog.get_dataset(session=session, ref=METERS)
    users = _accounts(session, settings, password)
    made = {"subjects": 0, "consents": 0}
    now = datetime.now(UTC).replace(microsecond=0)
    for n in range(1, RESIDENTS + 1):
        subject = _subject(session, settings, n)
        if n in users and subject.user_id is None:
            subject.user_id = users[n].id
            made["subjects"] += 1
        if meters_ds is None or not consents_to_research(n):
            continue
        if privacy.list_for(session=session, subject=subject):
            continue
        privacy.give(
            session=session,
            subject=subject,
            purpose="ScientificResearch",
            scope_kind=ScopeKind.dataset,
            scope_ref=str(meters_ds.id),
            channel="demo",
            now=now - timedelta(days=n % 90 + 1),
        )
        made["consents"] += 1
    citizen = _subject(session, settings, CITIZEN)
    if meters_ds is not None and len(privacy.list_for(session=session, subject=citizen)) < 2:
        _citizen_story(session, settings, citizen, meters_ds.publisher_id, now)
    eraser = _subject(session, settings, ERASER)
    if eraser.user_id is not None and not privacy.list_requests(session=session, subject=eraser):
        privacy.create_request(
            session=session,
            settings=settings,
            actor=identity.actor_for_user(session=session, user=users[ERASER]),
            subject=eraser,
            type=RequestType.erasure,
            details={"message": "Jeg har flyttet fra Halden. Slett dataene om husstanden min."},
        )
    if meters_ds is not None:
        _agreement(session, meters_ds.id)
    _donation_offers(session)
    session.flush()
    return made


def _donation_offers(session: Session) -> None:
    """Donated data can be asked for like any dataset: one offer per donation dataset."""
    publisher = identity.get_user_by_email(session=session, email="publisher@demo.datatorg.no")
    if publisher is None:
        return
    for kind in privacy.DONATION_KINDS.values():
        ds = catalog.get_dataset(session=session, ref=kind.slug)
        if ds is None or session.scalar(select(Offer).where(Offer.dataset_id == ds.id)):
            continue
        market.create_offer(
            session=session,
            actor=identity.actor_for_user(session=session, user=publisher),
            data=OfferCreate(
                dataset=kind.slug,
                title="Donerte data til forskning og klima",
                purposes=["ScientificResearch", "CombatClimateChange", "PublicBenefit"],
                consumer_kinds=["research", "education", "public_sector", "ngo"],
                columns=None,
                max_period_days=365,
                legal_basis="Consent",
            ),
        )


def _citizen_story(
    session: Session, settings: Settings, citizen: Subject, provider_id: object, now: datetime
) -> None:
    """Ola (resident 42): consents in several states, a donation, a completed access request."""
    privacy.give(
        session=session,
        subject=citizen,
        purpose="CombatClimateChange",
        scope_kind=ScopeKind.category,
        scope_ref="ObservedPersonalData",
        expires_at=now + timedelta(days=180),
        channel="demo",
        now=now - timedelta(days=30),
    )
    commercial = privacy.give(
        session=session,
        subject=citizen,
        purpose="CommercialResearch",
        scope_kind=ScopeKind.provider,
        scope_ref=str(provider_id),
        channel="demo",
        now=now - timedelta(days=60),
    )
    privacy.withdraw(
        session=session,
        subject=citizen,
        consent_id=commercial.id,
        channel="demo",
        now=now - timedelta(days=10),
    )
    readings = "time,kwh\n" + "".join(
        f"2025-02-01T{h:02d}:00,{0.4 + (h % 6) / 10:.2f}\n" for h in range(24)
    )
    privacy.donate(
        session=session,
        settings=settings,
        subject=citizen,
        kind_name="meter",
        raw=readings.encode(),
        filename="stromforbruk.csv",
        purposes=["DataAltruism", "CombatClimateChange"],
    )
