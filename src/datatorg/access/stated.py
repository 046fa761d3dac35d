"""What a caller states about a read, taken out of its parameters before it is decided:
the purpose (``_purpose``) and the agreement (``_agreement``). Part of the gate's one read
pipeline (``access.pipeline``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

# An ``_agreement`` value that is no agreement id names no agreement: the nil UUID, which no
# agreement has (the read is refused like any unknown agreement, after the decision's checks).
NO_AGREEMENT = uuid.UUID(int=0)


@dataclass(frozen=True)
class Stated:
    """What the caller states about a read, taken out before it is decided: the purpose
    (``_purpose``) and, for a person holding several agreements on the dataset, which one the
    read is under (``_agreement``; an agreement-scoped token reads under its own only)."""

    purpose: str | None = None
    agreement_id: uuid.UUID | None = None


def split_stated(items: Sequence[tuple[str, str]]) -> tuple[list[tuple[str, str]], Stated]:
    """The read's parameters without ``_purpose`` and ``_agreement``, and what they state."""
    purpose = next((v for k, v in items if k == "_purpose"), None)
    raw = next((v for k, v in items if k == "_agreement"), "")
    agreement_id: uuid.UUID | None = None
    if raw:
        try:
            agreement_id = uuid.UUID(raw)
        except ValueError:
            agreement_id = NO_AGREEMENT
    rest = [(k, v) for k, v in items if k not in ("_purpose", "_agreement")]
    return rest, Stated(purpose=purpose, agreement_id=agreement_id)
