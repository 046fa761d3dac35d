"""The disclosure ledger's writer: privacy's record of which agreement received which
subjects' rows, written in the read's own audit transaction.

A contributor (privacy's consent part) asks for a ledger with ``PolicyPart(ledger=True)``;
the engines then carry the subject key of every returned row as a hidden column and the
read's journal item holds a ``journal.Disclosure`` (only for rows that left under an
agreement; aggregates carry none). ``write`` is one of ``journal.WRITERS``: it hands the
batch's disclosures to ``privacy.service.record_disclosures`` before the batch commits, so
a read is recorded in the ledger exactly when its audit event is.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from datatorg.privacy import service as privacy

if TYPE_CHECKING:
    from datatorg.access.journal import Item


def write(session: Session, items: Sequence[Item]) -> None:
    """Record the disclosures of ``items`` (those whose ``disclosure`` is set)."""
    by_time: dict[datetime, list[privacy.DisclosureEntry]] = {}
    for item in items:
        d = item.disclosure
        if d is None:
            continue
        by_time.setdefault(item.at, []).append(
            privacy.DisclosureEntry(
                agreement_id=d.agreement_id,
                dataset_id=d.dataset_id,
                version=d.version,
                channel=d.channel,
                rows=d.rows,
                subject_keys=d.subject_keys,
            )
        )
    for at, entries in by_time.items():
        privacy.record_disclosures(session=session, entries=entries, at=at)
