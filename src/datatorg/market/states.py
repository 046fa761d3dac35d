"""The contract negotiation state machine of the Dataspace Protocol (pure, no database).

::

    (start) --request--> REQUESTED --offer--> OFFERED --accept--> ACCEPTED
                            |  ^                 |                   |
                            |  +----request------+                   |
                            +---------------agree-------------------+--> AGREED
    AGREED --verify--> VERIFIED --finalize--> FINALIZED
    REQUESTED | OFFERED | ACCEPTED | AGREED | VERIFIED --terminate--> TERMINATED

FINALIZED and TERMINATED are final. Every other event is illegal (HTTP 409).
"""

from __future__ import annotations

import enum

from datatorg.errors import Conflict
from datatorg.market.models import NegotiationState as S


class Event(enum.StrEnum):
    request = "request"  # consumer: (re)states what it asks for
    offer = "offer"  # provider: a counter-offer
    accept = "accept"  # consumer: accepts the provider's offer
    agree = "agree"  # provider: agrees; the agreement is made
    verify = "verify"  # consumer: verifies the agreement
    finalize = "finalize"  # provider: finalises; the agreement takes effect
    terminate = "terminate"  # either side: rejection, withdrawal


TRANSITIONS: dict[tuple[S | None, Event], S] = {
    (None, Event.request): S.requested,
    (S.offered, Event.request): S.requested,
    (S.requested, Event.offer): S.offered,
    (S.offered, Event.accept): S.accepted,
    (S.requested, Event.agree): S.agreed,
    (S.accepted, Event.agree): S.agreed,
    (S.agreed, Event.verify): S.verified,
    (S.verified, Event.finalize): S.finalized,
}
FINAL = frozenset({S.finalized, S.terminated})
for _s in S:
    if _s not in FINAL:
        TRANSITIONS[(_s, Event.terminate)] = S.terminated


def next_state(state: S | None, event: Event) -> S:
    """The state after ``event``; raises ``Conflict`` (409) for an illegal transition."""
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        shown = state.value if state else "(none)"
        raise Conflict(
            f"A negotiation in state {shown} cannot take the event '{event.value}'",
            state=shown,
            event=event.value,
        ) from None


def allowed_events(state: S | None) -> list[Event]:
    """The events legal in ``state``."""
    return [e for (s, e) in TRANSITIONS if s == state]
