"""Marketplace services. This module is the seam the gate (``datatorg.access``) calls.

Until the marketplace work lands, no agreement exists, so every non-open read by someone
outside the owning organisation is refused with ``failed_term="agreement"``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from datatorg.identity.actor import Actor


@dataclass(frozen=True)
class AgreementCheck:
    """The marketplace's answer to "may this actor read this, under which agreement?"."""

    allowed: bool
    agreement_id: uuid.UUID | None = None
    failed_term: str | None = None  # agreement, state, period, purpose, columns, aggregate, quota
    reason: str = ""
    retry_after: int | None = None  # seconds, when a quota is exhausted
    allowed_columns: frozenset[str] | None = None  # None: all columns
    aggregate_only: bool = False
    purpose: str | None = None


def check_agreement(
    *,
    session: Session,
    actor: Actor,
    dataset_id: uuid.UUID,
    columns: frozenset[str],
    aggregate: bool,
    agreement_id: uuid.UUID | None,
) -> AgreementCheck:
    """Whether ``actor`` holds an agreement that admits this read of ``dataset_id`` now."""
    return AgreementCheck(
        allowed=False,
        failed_term="agreement",
        reason="This dataset is not open; an agreement with its owner is needed to read it.",
    )


def record_usage(
    *, session: Session, agreement_id: uuid.UUID, rows: int, nbytes: int, calls: int = 1
) -> None:
    """Meter one read under ``agreement_id`` (calls, rows, bytes per day)."""
    return None
