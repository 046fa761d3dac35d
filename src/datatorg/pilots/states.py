"""The life of an idea, as a table of (state, event) → state.

```
  submitted --screen--> screening --evaluate--> evaluating --accept--> accepted
      |                     |                       |
      |                     +--reject--> rejected <-+--reject
      +--reject--> rejected
  submitted | screening | evaluating --withdraw--> withdrawn
```

Any other event answers 409 naming the state and the event.
"""

from __future__ import annotations

import enum

from datatorg.errors import Conflict
from datatorg.pilots.models import IdeaState
from datatorg.pilots.vocab import label
from datatorg.web.i18n import gettext as _


class Event(enum.StrEnum):
    screen = "screen"
    evaluate = "evaluate"
    accept = "accept"
    reject = "reject"
    withdraw = "withdraw"


S = IdeaState
TABLE: dict[tuple[IdeaState, Event], IdeaState] = {
    (S.submitted, Event.screen): S.screening,
    (S.submitted, Event.reject): S.rejected,
    (S.submitted, Event.withdraw): S.withdrawn,
    (S.screening, Event.evaluate): S.evaluating,
    (S.screening, Event.reject): S.rejected,
    (S.screening, Event.withdraw): S.withdrawn,
    (S.evaluating, Event.accept): S.accepted,
    (S.evaluating, Event.reject): S.rejected,
    (S.evaluating, Event.withdraw): S.withdrawn,
}
OPEN = frozenset({S.submitted, S.screening, S.evaluating})
FINAL = frozenset({S.accepted, S.rejected, S.withdrawn})


def next_state(state: IdeaState, event: Event) -> IdeaState:
    """The state after ``event``; 409 when the event does not apply."""
    found = TABLE.get((state, event))
    if found is None:
        raise Conflict(
            _("This cannot be done while the idea is “{state}”.").format(
                state=label("idea_state", state)
            ),
            state=state.value,
            event=event.value,
        )
    return found


def allowed_events(state: IdeaState) -> set[Event]:
    return {e for (s, e) in TABLE if s == state}
