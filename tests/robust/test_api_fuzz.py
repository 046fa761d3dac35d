"""A bounded property-based fuzzing run of the whole JSON API (schemathesis, from the app's
own OpenAPI document): a few generated requests per operation, as a publisher and as a
consumer (bearer tokens), in the test's rolled-back session. No answer may be a server error,
and every status and content type must be the ones the document declares."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance
from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.catalog.models import Dataset
from datatorg.identity.models import Organisation, Role
from datatorg.settings import Settings
from tests.catalog.conftest import load_demo_catalog
from tests.factories import make_token, make_user

EXAMPLES = 3  # per operation and role: bounded, the suite's time is shared
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]


@pytest.fixture
def roles(session: Session, settings: Settings) -> dict[str, dict[str, str]]:
    load_demo_catalog(session, settings)
    org = session.scalars(
        select(Organisation).join(Dataset, Dataset.publisher_id == Organisation.id)
    ).first()
    publisher = make_user(session, org=org, roles=(Role.publisher,))
    consumer = make_user(session)
    return {"publisher": make_token(session, publisher), "consumer": make_token(session, consumer)}


def _failures(app: FastAPI, headers: dict[str, str], statuses: list[int]) -> list[str]:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    found: list[str] = []
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 60
    for op in operations:
        found += _fuzz(op, headers, statuses)
    return found


def _fuzz(op: Any, headers: dict[str, str], statuses: list[int]) -> list[str]:
    """Run a few generated requests of one operation; the check failures."""
    found: list[str] = []

    @given(case=op.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        response = case.call(headers=headers)
        statuses.append(response.status_code)
        try:
            case.validate_response(response, checks=CHECKS)
        except BaseException as exc:  # noqa: B036  (a FailureGroup): collect them all
            found.append(f"{op.label}: {type(exc).__name__}: {str(exc)[:300]}")

    run()
    return found


@pytest.mark.parametrize("role", ["publisher", "consumer"])
def test_every_answer_is_documented_and_no_server_error(
    app: FastAPI, roles: dict[str, dict[str, str]], role: str
) -> None:
    statuses: list[int] = []
    failures = _failures(app, roles[role], statuses)
    assert failures == []
    assert len(statuses) >= 150  # it really ran: a few requests per operation
    assert {200, 404, 422} <= set(statuses)  # successes and refusals, all documented
