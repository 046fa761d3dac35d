"""Simultaneous changes of state in the living lab: exactly one wins, the others get 409.

On PostgreSQL nothing locked an idea or a pilot while its state changed: ten simultaneous
"accept" decisions all passed the state check (ten answers published to the submitter, ten
notices, the history rewritten by each), ten "make a pilot" each passed the "is it a pilot
already?" check and all but one failed on the unique key (500), and ten final evaluations
likewise. SQLite and PostgreSQL (on SQLite the writer turn serialises them already).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from datatorg.db import migrate
from datatorg.db.engine import make_engine
from datatorg.db.writes import write_sessionmaker
from datatorg.errors import Conflict
from datatorg.identity.models import User
from datatorg.pilots import ideas, participation, pilots, results, review
from datatorg.pilots.models import Idea, Pilot
from datatorg.pilots.pilot_schemas import PilotCreate, ResultCreate
from datatorg.pilots.schemas import Decision, EvaluationCreate, IdeaCreate, ScreeningResult
from datatorg.settings import Settings
from tests.factories import actor_of
from tests.pg import PostgresServer
from tests.pilots.conftest import build_lab, idea_body
from tests.pilots.helpers import SCORES

THREADS = 10


def _fresh_url(pg_server: PostgresServer | None, tmp_path: Path) -> str:
    if pg_server is not None:
        return pg_server.create_database(f"lab_{tmp_path.name[-12:].replace('-', '_').lower()}")
    return f"sqlite:///{tmp_path / 'lab.sqlite3'}"


def _race(factory: sessionmaker[Session], work: Callable[[Session], Any]) -> list[str]:
    outcomes: list[str] = []
    start = threading.Barrier(THREADS)

    def worker() -> None:
        try:
            start.wait()
            with factory() as s:
                work(s)
                s.commit()
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")
        except BaseException as exc:  # reported by the caller's assertion
            outcomes.append(repr(exc)[:200])

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return sorted(outcomes)


def test_one_decision_one_pilot_one_final_evaluation(
    pg_server: PostgresServer | None, tmp_path: Path
) -> None:
    url = _fresh_url(pg_server, tmp_path)
    make_engine(url).dispose()
    migrate.upgrade(url)
    engine = make_engine(url)
    factory = write_sessionmaker(engine)  # as the app's unsafe requests
    try:
        with factory() as s:
            lab = build_lab(s)
            coord = actor_of(s, lab.coordinator)
            idea = ideas.create_idea(
                session=s,
                settings=None,
                actor=actor_of(s, lab.citizen),
                data=IdeaCreate.model_validate(idea_body()),
            )
            review.start_screening(session=s, actor=coord, idea_id=idea.id)
            review.complete_screening(
                session=s,
                settings=None,
                actor=coord,
                idea_id=idea.id,
                data=ScreeningResult(personal_data=False, evaluator_ids=[lab.evaluators[0].id]),
            )
            review.submit_evaluation(
                session=s,
                actor=actor_of(s, lab.evaluators[0]),
                idea_id=idea.id,
                data=EvaluationCreate.model_validate({"scores": SCORES}),
            )
            s.commit()
            idea_id, coord_id = idea.id, lab.coordinator.id

        def as_coordinator(s: Session) -> Any:
            user = s.get(User, coord_id)
            assert user is not None
            return actor_of(s, user)

        outcomes = _race(
            factory,
            lambda s: review.decide(
                session=s,
                settings=None,
                actor=as_coordinator(s),
                idea_id=idea_id,
                data=Decision(decision="accept", answer="Godtatt – vi prøver det ut."),
            ),
        )
        assert outcomes == ["conflict"] * (THREADS - 1) + ["ok"], outcomes
        with factory() as s:
            found = s.get(Idea, idea_id)
            assert found is not None
            assert [h["event"] for h in found.history].count("accept") == 1, found.history

        outcomes = _race(
            factory,
            lambda s: pilots.create_pilot(
                session=s, settings=None, actor=as_coordinator(s), data=PilotCreate(idea_id=idea_id)
            ),
        )
        assert outcomes == ["conflict"] * (THREADS - 1) + ["ok"], outcomes
        with factory() as s:
            assert s.scalar(select(func.count()).select_from(Pilot)) == 1
            pilot_id: uuid.UUID = s.scalars(select(Pilot.id)).one()

        outcomes = _race(
            factory,
            lambda s: results.conclude(
                session=s,
                settings=None,
                actor=as_coordinator(s),
                pilot_id=pilot_id,
                data=ResultCreate(outcome="scale", summary="Det virket godt for alle byggene."),
            ),
        )
        assert outcomes == ["conflict"] * (THREADS - 1) + ["ok"], outcomes
    finally:
        engine.dispose()


def test_one_person_joins_and_leaves_a_pilot_once(
    pg_server: PostgresServer | None, tmp_path: Path, settings: Settings
) -> None:
    """A double (or tenfold) click on "take part": one join, nine 409s — on PostgreSQL the
    participant row's second insert was a 500 — and the same for leaving."""
    url = _fresh_url(pg_server, tmp_path)
    make_engine(url).dispose()
    migrate.upgrade(url)
    engine = make_engine(url)
    factory = write_sessionmaker(engine)
    own = settings.model_copy(update={"database_url": url})
    try:
        with factory() as s:
            lab = build_lab(s)
            coord = actor_of(s, lab.coordinator)
            idea = ideas.create_idea(
                session=s,
                settings=None,
                actor=actor_of(s, lab.citizen),
                data=IdeaCreate.model_validate(idea_body()),
            )
            review.start_screening(session=s, actor=coord, idea_id=idea.id)
            review.complete_screening(
                session=s,
                settings=None,
                actor=coord,
                idea_id=idea.id,
                data=ScreeningResult(personal_data=False, evaluator_ids=[lab.evaluators[0].id]),
            )
            review.submit_evaluation(
                session=s,
                actor=actor_of(s, lab.evaluators[0]),
                idea_id=idea.id,
                data=EvaluationCreate.model_validate({"scores": SCORES}),
            )
            review.decide(
                session=s,
                settings=None,
                actor=coord,
                idea_id=idea.id,
                data=Decision(decision="accept", answer="Godtatt – vi prøver det ut."),
            )
            pilot = pilots.create_pilot(
                session=s,
                settings=None,
                actor=coord,
                data=PilotCreate(idea_id=idea.id, recruiting=True),
            )
            s.commit()
            pilot_id, user_id = pilot.id, lab.supporters[0].id

        def person(s: Session) -> Any:
            user = s.get(User, user_id)
            assert user is not None
            return actor_of(s, user)

        joined = _race(
            factory,
            lambda s: participation.join(
                session=s, settings=own, actor=person(s), pilot_id=pilot_id
            ),
        )
        assert joined == ["conflict"] * (THREADS - 1) + ["ok"], joined
        left = _race(
            factory,
            lambda s: participation.leave(
                session=s, settings=own, actor=person(s), pilot_id=pilot_id
            ),
        )
        assert left == ["conflict"] * (THREADS - 1) + ["ok"], left
        with factory() as s:
            assert not participation.takes_part(s, pilot_id, user_id)
    finally:
        engine.dispose()
