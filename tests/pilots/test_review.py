"""Screening, evaluation and decisions: the state machine, the privacy check, who may do what."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.errors import Conflict
from datatorg.market.models import Notification
from datatorg.pilots.models import IdeaState
from datatorg.pilots.review import weighted_score
from datatorg.pilots.states import FINAL, TABLE, Event, next_state
from datatorg.pilots.vocab import DEFAULT_WEIGHTS
from tests.pilots import helpers
from tests.pilots.conftest import Lab, call_body


@given(st.lists(st.sampled_from(list(Event)), max_size=12))
@settings(max_examples=200, deadline=None)
def test_random_event_sequences_follow_the_table(events: list[Event]) -> None:
    state = IdeaState.submitted
    for event in events:
        if (state, event) in TABLE:
            state = next_state(state, event)
        else:
            with pytest.raises(Conflict):
                next_state(state, event)
    # nothing leaves a final state, and withdraw is possible exactly while open
    for final in FINAL:
        assert not any(s == final for s, _e in TABLE)
    assert {s for s, e in TABLE if e == Event.withdraw} == {
        IdeaState.submitted,
        IdeaState.screening,
        IdeaState.evaluating,
    }


@given(st.fixed_dictionaries({c: st.integers(1, 5) for c in DEFAULT_WEIGHTS}))
def test_the_weighted_score_stays_on_the_scale(scores: dict[str, int]) -> None:
    got = weighted_score(scores, DEFAULT_WEIGHTS)
    assert min(scores.values()) <= got <= max(scores.values())
    assert weighted_score(dict.fromkeys(scores, 3), DEFAULT_WEIGHTS) == 3


def test_who_may_screen_evaluate_and_decide(client: TestClient, lab: Lab) -> None:
    idea = helpers.submitted(client, lab)
    iid = idea["id"]
    # only coordinators screen and decide; a wrong state answers 409 naming state and event
    for who in ("citizen", "supporter0", "evaluator0"):
        assert client.post(f"/api/v1/ideas/{iid}/screening", headers=lab.h[who]).status_code == 403
    r = client.post(
        f"/api/v1/ideas/{iid}/decision",
        json={"decision": "accept", "answer": "For tidlig å si ja."},
        headers=lab.h["coordinator"],
    )
    assert r.status_code == 409 and r.json()["state"] == "submitted"
    assert r.json()["event"] == "accept"
    helpers.ok(client.post(f"/api/v1/ideas/{iid}/screening", headers=lab.h["coordinator"]))
    # evaluators must hold the role; the submitter never evaluates their own idea
    r = client.post(
        f"/api/v1/ideas/{iid}/screening/result",
        json={"personal_data": False, "evaluator_ids": [str(lab.supporters[0].id)]},
        headers=lab.h["coordinator"],
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "evaluator_ids"
    helpers.ok(
        client.post(
            f"/api/v1/ideas/{iid}/screening/result",
            json={"personal_data": False, "evaluator_ids": [str(lab.evaluators[0].id)]},
            headers=lab.h["coordinator"],
        )
    )
    # the unassigned evaluator may not score or see the scores; the assigned one may
    body = {"scores": helpers.SCORES}
    r = client.post(f"/api/v1/ideas/{iid}/evaluations", json=body, headers=lab.h["evaluator1"])
    assert r.status_code == 403
    assert (
        client.get(f"/api/v1/ideas/{iid}/evaluations", headers=lab.h["evaluator1"]).status_code
        == 403
    )
    assert (
        client.get(f"/api/v1/ideas/{iid}/evaluations", headers=lab.h["citizen"]).status_code == 403
    )
    # accepting needs an evaluation
    r = client.post(
        f"/api/v1/ideas/{iid}/decision",
        json={"decision": "accept", "answer": "Vi sier ja til dette."},
        headers=lab.h["coordinator"],
    )
    assert r.status_code == 409
    first = helpers.ok(
        client.post(f"/api/v1/ideas/{iid}/evaluations", json=body, headers=lab.h["evaluator0"]), 201
    )
    again = helpers.ok(
        client.post(
            f"/api/v1/ideas/{iid}/evaluations",
            json={"scores": dict(helpers.SCORES, impact=1)},
            headers=lab.h["evaluator0"],
        ),
        201,
    )
    assert again["id"] == first["id"] and again["weighted"] < first["weighted"]  # replaced
    evals = client.get(f"/api/v1/ideas/{iid}/evaluations", headers=lab.h["evaluator0"]).json()
    assert len(evals) == 1
    # a second evaluator can be added during evaluation
    helpers.ok(
        client.post(
            f"/api/v1/ideas/{iid}/evaluators",
            json={"evaluator_id": str(lab.evaluators[1].id)},
            headers=lab.h["coordinator"],
        )
    )
    r = client.post(f"/api/v1/ideas/{iid}/evaluations", json=body, headers=lab.h["evaluator1"])
    assert r.status_code == 201
    # until the decision, the public sees no scores
    assert client.get(f"/api/v1/ideas/{iid}").json()["evaluation"] is None


def test_the_privacy_check_and_the_dpia_before_a_pilot(
    client: TestClient, session: Session, lab: Lab
) -> None:
    idea = helpers.submitted(client, lab, datasets=[lab.personal.slug])
    iid = idea["id"]
    helpers.ok(client.post(f"/api/v1/ideas/{iid}/screening", headers=lab.h["coordinator"]))
    # an idea asking for a dataset with personal data cannot be screened as "no personal data"
    r = client.post(
        f"/api/v1/ideas/{iid}/screening/result",
        json={"personal_data": False, "evaluator_ids": [str(lab.evaluators[0].id)]},
        headers=lab.h["coordinator"],
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "personal_data"
    helpers.ok(
        client.post(
            f"/api/v1/ideas/{iid}/screening/result",
            json={"personal_data": True, "evaluator_ids": [str(lab.evaluators[0].id)]},
            headers=lab.h["coordinator"],
        )
    )
    helpers.ok(
        client.post(
            f"/api/v1/ideas/{iid}/evaluations",
            json={"scores": helpers.SCORES},
            headers=lab.h["evaluator0"],
        ),
        201,
    )
    helpers.ok(
        client.post(
            f"/api/v1/ideas/{iid}/decision",
            json={"decision": "accept", "answer": "Godtatt med forbehold om DPIA."},
            headers=lab.h["coordinator"],
        )
    )
    # no pilot before the DPIA is recorded
    r = client.post("/api/v1/pilots", json={"idea_id": iid}, headers=lab.h["coordinator"])
    assert r.status_code == 409 and r.json()["missing"] == "dpia"
    r = client.post(
        f"/api/v1/ideas/{iid}/dpia", json={"reference": "2026/1234"}, headers=lab.h["citizen"]
    )
    assert r.status_code == 403
    helpers.ok(
        client.post(
            f"/api/v1/ideas/{iid}/dpia",
            json={"reference": "2026/1234"},
            headers=lab.h["coordinator"],
        )
    )
    helpers.ok(
        client.post("/api/v1/pilots", json={"idea_id": iid}, headers=lab.h["coordinator"]), 201
    )
    # the submitter was told, in their inbox, and the message names no person
    notes = session.scalars(
        select(Notification).where(Notification.user_id == lab.citizen.id)
    ).all()
    assert {n.kind for n in notes} >= {"idea_answered", "pilot_news"}


def test_withdraw_reject_and_support_rules(client: TestClient, session: Session, lab: Lab) -> None:
    call = helpers.ok(
        client.post(
            "/api/v1/calls", json=call_body(support_threshold=1), headers=lab.h["coordinator"]
        ),
        201,
    )
    idea = helpers.submitted(client, lab, call_id=call["id"])
    iid = idea["id"]
    # one support reaches the threshold: the coordinators are told once
    helpers.ok(client.post(f"/api/v1/ideas/{iid}/support", headers=lab.h["supporter0"]))
    helpers.ok(client.delete(f"/api/v1/ideas/{iid}/support", headers=lab.h["supporter0"]))
    assert (
        client.delete(f"/api/v1/ideas/{iid}/support", headers=lab.h["supporter0"]).status_code
        == 409
    )
    helpers.ok(client.post(f"/api/v1/ideas/{iid}/support", headers=lab.h["supporter1"]))
    ready = session.scalars(
        select(Notification).where(
            Notification.user_id == lab.coordinator.id, Notification.kind == "idea_ready"
        )
    ).all()
    assert len(ready) == 1
    # only the submitter withdraws; the reason is published; nothing more can happen
    r = client.post(
        f"/api/v1/ideas/{iid}/withdraw", json={"reason": "x"}, headers=lab.h["supporter1"]
    )
    assert r.status_code == 403
    out = helpers.ok(
        client.post(
            f"/api/v1/ideas/{iid}/withdraw",
            json={"reason": "Vi fant en annen løsning."},
            headers=lab.h["citizen"],
        )
    )
    assert out["state"]["code"] == "withdrawn" and out["answer"] == "Vi fant en annen løsning."
    assert (
        client.post(f"/api/v1/ideas/{iid}/support", headers=lab.h["supporter2"]).status_code == 409
    )
    assert client.post(f"/api/v1/ideas/{iid}/withdraw", headers=lab.h["citizen"]).status_code == 409
    # a rejection at screening needs a real answer
    other = helpers.submitted(client, lab)
    r = client.post(
        f"/api/v1/ideas/{other['id']}/decision",
        json={"decision": "reject", "answer": "nei"},
        headers=lab.h["coordinator"],
    )
    assert r.status_code == 422
    out = helpers.ok(
        client.post(
            f"/api/v1/ideas/{other['id']}/decision",
            json={"decision": "reject", "answer": "Dette ligger utenfor kommunens ansvar."},
            headers=lab.h["coordinator"],
        )
    )
    assert out["state"]["label"] in ("Not accepted", "Ikke godtatt")


def test_comments_reports_and_moderation(client: TestClient, lab: Lab) -> None:
    idea = helpers.submitted(client, lab)
    url = f"/api/v1/ideas/{idea['id']}/comments"
    assert client.post(url, json={"body": "Hei"}).status_code == 401
    c = helpers.ok(
        client.post(url, json={"body": "Ring meg på 99999999"}, headers=lab.h["supporter0"]), 201
    )
    helpers.ok(client.post(f"/api/v1/comments/{c['id']}/flag", headers=lab.h["supporter1"]))
    assert (
        client.post(f"/api/v1/comments/{c['id']}/flag", headers=lab.h["supporter1"]).status_code
        == 409
    )
    queue = client.get("/api/v1/moderation", headers=lab.h["coordinator"]).json()
    assert [i["id"] for i in queue["items"]] == [c["id"]] and queue["items"][0]["flags"] == 1
    assert client.get("/api/v1/moderation", headers=lab.h["citizen"]).status_code == 403
    r = client.post(
        f"/api/v1/comments/{c['id']}/moderation",
        json={"action": "hide"},
        headers=lab.h["coordinator"],
    )
    assert r.status_code == 422  # hiding needs a reason
    r = client.post(
        f"/api/v1/comments/{c['id']}/moderation",
        json={"action": "hide", "reason": "Personopplysninger"},
        headers=lab.h["supporter1"],
    )
    assert r.status_code == 403
    helpers.ok(
        client.post(
            f"/api/v1/comments/{c['id']}/moderation",
            json={"action": "hide", "reason": "Personopplysninger"},
            headers=lab.h["coordinator"],
        )
    )
    public = client.get(url).json()["items"][0]
    assert public["hidden"] is True and public["body"] == "" and public["moderation_reason"]
    assert (
        client.get(url, headers=lab.h["coordinator"]).json()["items"][0]["body"].startswith("Ring")
    )
    assert client.get("/api/v1/moderation", headers=lab.h["coordinator"]).json()["total"] == 0
    assert client.get(f"/api/v1/ideas/{idea['id']}").json()["comment_count"] == 0
