"""Catalog fixtures: the demo catalog inside the test's rolled-back session."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.demo import catalog as demo_catalog
from datatorg.demo.world import ORGANISATIONS
from datatorg.identity import service as identity
from datatorg.identity.models import Organisation
from datatorg.settings import Settings


def load_demo_catalog(session: Session, settings: Settings) -> int:
    """The demo organisations (without accounts: hashing passwords is slow) and datasets."""
    have = set(session.scalars(select(Organisation.slug)))
    for slug, name, orgnr, kind in ORGANISATIONS:
        if slug not in have:
            identity.create_organisation(
                session=session, slug=slug, name=name, orgnr=orgnr, kind=kind
            )
    session.flush()
    return demo_catalog.load(session=session, settings=settings)


@pytest.fixture
def demo(session: Session, settings: Settings) -> int:
    return load_demo_catalog(session, settings)
