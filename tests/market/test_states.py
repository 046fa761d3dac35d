"""The negotiation state machine: pure properties, a stateful walk, and random service walks."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datatorg.errors import Conflict, Forbidden, Invalid
from datatorg.market import negotiation, service
from datatorg.market.metering import today as utc_today
from datatorg.market.models import Agreement
from datatorg.market.models import NegotiationState as S
from datatorg.market.schemas import CounterOffer
from datatorg.market.states import FINAL, TRANSITIONS, Event, allowed_events, next_state
from tests.factories import actor_of
from tests.market.conftest import World, request_data

ORDER = [S.requested, S.offered, S.accepted, S.agreed, S.verified, S.finalized]


def test_the_table_is_the_dataspace_protocol() -> None:
    assert next_state(None, Event.request) == S.requested
    assert next_state(S.requested, Event.offer) == S.offered
    assert next_state(S.offered, Event.request) == S.requested
    assert next_state(S.offered, Event.accept) == S.accepted
    assert next_state(S.accepted, Event.agree) == S.agreed
    assert next_state(S.requested, Event.agree) == S.agreed
    assert next_state(S.agreed, Event.verify) == S.verified
    assert next_state(S.verified, Event.finalize) == S.finalized
    for s in S:
        assert (Event.terminate in allowed_events(s)) == (s not in FINAL)
    assert allowed_events(S.finalized) == [] and allowed_events(S.terminated) == []


def test_an_illegal_event_is_a_409_problem() -> None:
    with pytest.raises(Conflict) as err:
        next_state(S.requested, Event.accept)
    assert err.value.status == 409
    assert err.value.problem()["state"] == "REQUESTED"


@given(st.lists(st.sampled_from(list(Event)), max_size=30))
def test_random_event_sequences_never_leave_a_final_state(events: list[Event]) -> None:
    state: S | None = None
    seen: list[S] = []
    for event in events:
        if (state, event) in TRANSITIONS:
            state = next_state(state, event)
            seen.append(state)
        else:
            with pytest.raises(Conflict):
                next_state(state, event)
    # once final, nothing changes; FINALIZED only via AGREED then VERIFIED
    for i, s in enumerate(seen):
        if s in FINAL:
            assert all(x == s for x in seen[i:])
        if s == S.finalized:
            assert seen[i - 2 : i] == [S.agreed, S.verified]


class Negotiation(RuleBasedStateMachine):
    """Walks the pure machine with any event; the state is always one of the protocol's."""

    def __init__(self) -> None:
        super().__init__()
        self.state: S | None = None
        self.agreed = False

    @rule(event=st.sampled_from(list(Event)))
    def send(self, event: Event) -> None:
        legal = (self.state, event) in TRANSITIONS
        if legal:
            self.state = next_state(self.state, event)
            self.agreed = self.agreed or self.state == S.agreed
        else:
            with pytest.raises(Conflict):
                next_state(self.state, event)

    @invariant()
    def consistent(self) -> None:
        if self.state in (S.verified, S.finalized):
            assert self.agreed
        if self.state is not None:
            assert self.state in set(S)


TestNegotiationMachine = Negotiation.TestCase
TestNegotiationMachine.settings = settings(max_examples=60, stateful_step_count=20, deadline=None)

ACTIONS = ["approve", "reject", "counter", "accept", "withdraw"]


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=6))
def test_random_service_walks_keep_request_and_agreement_in_step(
    session: Session, world: World, actions: list[str]
) -> None:
    steward, consumer = actor_of(session, world.steward), actor_of(session, world.consumer)
    today = utc_today()
    req = service.create_request(
        session=session,
        settings=None,
        actor=consumer,
        # each example's request is a contract of its own (the session outlives examples)
        data=request_data(
            world.offer, period_end=today + timedelta(days=80), pilot_ref=str(uuid.uuid4())
        ),
    )
    end = today + timedelta(days=80)
    for action in actions:
        before = req.state
        try:
            if action == "approve":
                service.approve(session=session, settings=None, actor=steward, request_id=req.id)
            elif action == "reject":
                service.reject(
                    session=session, settings=None, actor=steward, request_id=req.id, reason="no"
                )
            elif action == "counter":
                end -= timedelta(days=1)
                service.counter_offer(
                    session=session,
                    settings=None,
                    actor=steward,
                    request_id=req.id,
                    data=CounterOffer(period_end=end),
                )
            elif action == "accept":
                service.accept(session=session, settings=None, actor=consumer, request_id=req.id)
            else:
                negotiation.withdraw(session=session, actor=consumer, request_id=req.id)
        except (Conflict, Invalid, Forbidden):
            assert req.state == before  # a refused step changes nothing
    agreements = session.scalar(
        select(func.count()).select_from(Agreement).where(Agreement.request_id == req.id)
    )
    assert (req.state == S.finalized) == (agreements == 1)
    assert (req.agreement_id is not None) == (req.state == S.finalized)
    assert [h["state"] for h in req.history][-1] == req.state.value
