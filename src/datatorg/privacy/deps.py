"""Resolvers for routes that name a citizen's own consent, request or donation: the route
declares ``perm.own(...)`` and the permission check finds the person the thing belongs to
(others get 404, as if it did not exist; the services check ownership again)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.errors import NotFound
from datatorg.identity import permissions
from datatorg.identity.permissions import Target
from datatorg.privacy.models import Consent, Donation, Subject, SubjectRequest


def _id(params: Mapping[str, str], name: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(params[name])
    except (KeyError, ValueError):
        return None


def _owner_of_subject(session: Session, subject_id: uuid.UUID | None) -> uuid.UUID | None:
    if subject_id is None:
        return None
    return session.scalar(select(Subject.user_id).where(Subject.id == subject_id))


@permissions.target("consent")
def consent(session: Session, params: Mapping[str, str]) -> Target:
    """A consent record (``consent_id``): its subject's account."""
    cid = _id(params, "consent_id")
    found = session.get(Consent, cid) if cid else None
    if found is None:
        raise NotFound("No such consent")
    return Target(owner_user=_owner_of_subject(session, found.subject_id))


@permissions.target("subject request")
def subject_request(session: Session, params: Mapping[str, str]) -> Target:
    """A data subject request (``request_id``): the account that made it."""
    rid = _id(params, "request_id")
    found = session.get(SubjectRequest, rid) if rid else None
    if found is None:
        raise NotFound("No such request")
    return Target(owner_user=found.user_id)


@permissions.target("donation")
def donation(session: Session, params: Mapping[str, str]) -> Target:
    """A donation (``donation_id``): the donor's account."""
    did = _id(params, "donation_id")
    found = session.get(Donation, did) if did else None
    if found is None:
        raise NotFound("No such donation")
    return Target(owner_user=_owner_of_subject(session, found.subject_id))
