"""What the catalog tells route permissions (``identity.permissions``): which organisation
owns the dataset a path names (``{ref}`` or ``{slug}``)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from datatorg.catalog import service
from datatorg.errors import NotFound
from datatorg.identity.permissions import Target, target


@target("dataset")
def dataset(session: Session, params: Mapping[str, str]) -> Target:
    """The dataset of the path's ``ref`` (or ``slug``); NotFound when there is none."""
    ref = params.get("ref") or params["slug"]
    found = None
    if "\x00" not in ref and len(ref) <= 120:  # no dataset has such a reference
        found = service.get_dataset(session=session, ref=ref)
    if found is None:
        raise NotFound("No such dataset")
    return Target(org_id=found.publisher_id)
