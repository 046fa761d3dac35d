"""Subject keys in place of identities, at staging: the lake's seam to privacy.

Privacy lies above the lake (the ``[tool.importlinter]`` layers), so the lake never imports
it: privacy registers its linker (``privacy.service`` → ``link_file``) with
``lake.service.subject_linker`` when its service module is imported.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from datatorg.settings import Settings
from datatorg.web.i18n import gettext as _

SubjectLinker = Callable[
    [Session, Settings, uuid.UUID, Path, dict[str, Any]], dict[str, Any] | None
]
_SUBJECT_LINKERS: list[SubjectLinker] = []


def subject_linker(fn: SubjectLinker) -> None:
    """Register the function that puts subject keys in place of identities in a staged file
    (privacy registers ``link_file`` when its service module is imported; privacy lies above
    the lake, so the lake never imports it)."""
    _SUBJECT_LINKERS[:] = [fn]


def link_subjects(
    session: Session, settings: Settings, dataset_id: uuid.UUID, path: Path, schema: dict[str, Any]
) -> dict[str, Any] | None:
    """Subject keys in place of identities, for datasets that declare subjects (privacy);
    None when the dataset declares none. Done at staging, so no clear identity of a declared
    subject column is ever kept in the lake, not even in a pending upload. Without a
    registered linker no upload is staged at all (fail closed)."""
    if not _SUBJECT_LINKERS:
        raise RuntimeError("no subject linker registered (import datatorg.privacy.service)")
    return _SUBJECT_LINKERS[0](session, settings, dataset_id, path, schema)


def subject_keys_kept(linked: dict[str, Any], published: dict[str, Any]) -> list[dict[str, Any]]:
    """Errors for the publisher's schema changes that take the subject key role off a column
    privacy filled with subject keys (``linked``): without the role the gate would not know
    whose rows they are, and no consent, restriction or erasure would reach them."""
    kept = {f["name"] for f in published.get("fields", []) if f.get("role") == "subject_key"}
    message = _(
        "This column holds the keys of the persons the rows are about; its role cannot change."
    )
    return [
        {"field": f"fields[{i}].role", "message": message}
        for i, f in enumerate(linked.get("fields", []))
        if f.get("role") == "subject_key" and f["name"] not in kept
    ]
