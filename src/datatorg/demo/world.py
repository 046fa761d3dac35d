"""The Halden demo world, generated deterministically; each domain adds its part here.

``load`` is idempotent: it creates what is missing and leaves what is there.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.demo import catalog as catalog_demo
from datatorg.demo import lake as lake_demo
from datatorg.demo import market as market_demo
from datatorg.demo import pilots as pilots_demo
from datatorg.demo import privacy as privacy_demo
from datatorg.demo import sensors as sensors_demo
from datatorg.identity import service as identity
from datatorg.identity.models import Organisation, OrgKind, Role, User
from datatorg.settings import Settings

DEMO_PASSWORD = "datatorg-demo-2026"

# slug, name, organisation number (real ones for real bodies), kind; the names are the
# names people read on Norwegian pages (the two companies are made up, and have no number)
ORGANISATIONS = [
    ("halden-kommune", "Halden kommune", "959159092", OrgKind.public_sector),
    ("hiof", "Høgskolen i Østfold", "971567376", OrgKind.education),
    ("ife", "Institutt for energiteknikk (IFE)", None, OrgKind.research),
    ("fjordsensor", "Fjordsensor AS", None, OrgKind.business),
    ("gronn-start", "Grønn Start AS", None, OrgKind.business),
]

# role, e-mail, display name, organisation slug (None: no organisation)
ACCOUNTS = [
    ("admin", "admin@demo.datatorg.no", "Ada Admin", "halden-kommune"),
    ("publisher", "publisher@demo.datatorg.no", "Per Publisher", "halden-kommune"),
    ("steward", "steward@demo.datatorg.no", "Siri Steward", "halden-kommune"),
    ("consumer", "consumer@demo.datatorg.no", "Kari Consumer", "hiof"),
    ("citizen", "citizen@demo.datatorg.no", "Ola Nordmann", None),
    ("coordinator", "coordinator@demo.datatorg.no", "Kim Coordinator", "halden-kommune"),
    ("evaluator", "evaluator@demo.datatorg.no", "Eva Evaluator", "ife"),
]


def _org(session: Session, slug: str, name: str, orgnr: str | None, kind: OrgKind) -> Organisation:
    found = session.scalar(select(Organisation).where(Organisation.slug == slug))
    if found is not None:
        found.name = name  # a demo loaded before the names were Norwegian gets them too
        return found
    return identity.create_organisation(
        session=session, slug=slug, name=name, orgnr=orgnr, kind=kind
    )


def _user(session: Session, email: str, name: str) -> User:
    found = identity.get_user_by_email(session=session, email=email)
    if found is not None:
        return found
    return identity.create_user(
        session=session, email=email, display_name=name, password=DEMO_PASSWORD
    )


def load_identity(*, session: Session) -> list[tuple[str, str]]:
    """Organisations and one account per role."""
    orgs = {slug: _org(session, slug, name, nr, kind) for slug, name, nr, kind in ORGANISATIONS}
    out = []
    for role, email, name, org_slug in ACCOUNTS:
        user = _user(session, email, name)
        if org_slug is not None:
            identity.add_membership(
                session=session, user=user, organisation=orgs[org_slug], role=Role(role)
            )
        if role == "admin":
            user.is_superuser = True
        out.append((role, email))
    # Publishers and stewards of the other bodies, so each can own data.
    for slug in ("hiof", "ife", "fjordsensor", "gronn-start"):
        user = _user(session, f"publisher@{slug}.demo.datatorg.no", f"Publisher {slug}")
        identity.add_membership(
            session=session, user=user, organisation=orgs[slug], role=Role.publisher
        )
        identity.add_membership(
            session=session, user=user, organisation=orgs[slug], role=Role.steward
        )
    return out


def load(*, session: Session, settings: Settings, small: bool = False) -> list[tuple[str, str]]:
    """The whole demo world; returns the demo accounts as (role, e-mail).

    ``small``: every dataset gets a short slice of its series (``demo/lake.py``)."""
    accounts = load_identity(session=session)
    session.flush()
    catalog_demo.load(session=session, settings=settings)  # before market: offers need datasets
    session.flush()
    lake_demo.load(
        session=session, settings=settings, small=small
    )  # contents of the catalog's datasets
    session.flush()
    accounts += market_demo.load(session=session, password=DEMO_PASSWORD)
    session.flush()
    privacy_demo.load(session=session, settings=settings, password=DEMO_PASSWORD)  # issue 13
    sensors_demo.load(session=session, settings=settings)  # live sensor streams (issue 15)
    # the living lab last: participants join with a consent (privacy), the waste pilot's KPI
    # reads the containers' sensor stream (sensors)
    pilots_demo.load(session=session, settings=settings)
    session.flush()
    return accounts
