"""Structured logs with a request id; personal data masked by the Pii type."""

from __future__ import annotations

import json
import logging

import pytest

from datatorg.logging import JsonFormatter, Pii, request_id_var


def test_pii_never_shows_itself() -> None:
    email = Pii("ola.nordmann@example.no")
    assert "ola" not in str(email) and "ola" not in repr(email) and "ola" not in f"{email}"
    assert "ola" not in "{} {!r}".format(email, email)  # noqa: UP032
    assert email.reveal() == "ola.nordmann@example.no"
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(email)


def test_json_lines_carry_request_id_and_mask_pii() -> None:
    record = logging.LogRecord(
        "t", logging.INFO, __file__, 1, "login for %s", (Pii("kari@x.no"),), None
    )
    record.user = Pii("kari@x.no")
    token = request_id_var.set("req-42")
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert line["request_id"] == "req-42"
    assert "kari" not in json.dumps(line)
    assert line["msg"] == "login for ***"


def test_request_log_has_no_query_string(client: object, caplog: pytest.LogCaptureFixture) -> None:
    from fastapi.testclient import TestClient

    assert isinstance(client, TestClient)
    with caplog.at_level(logging.INFO, logger="datatorg.http"):
        client.get("/healthz?email=ola@example.no")
    records = [r for r in caplog.records if r.name == "datatorg.http"]
    assert records and all("ola@example.no" not in str(vars(r)) for r in records)
    assert records[-1].path == "/healthz"  # type: ignore[attr-defined]
