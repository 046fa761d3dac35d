"""What this server process refused for being busy, for administrators
(src/datatorg/lake/load.py)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.db import writes
from datatorg.db.engine import engine_of
from datatorg.lake import reader
from tests.factories import make_token, make_user


def test_administrators_see_what_the_lines_refused(client: TestClient, session: Session) -> None:
    admin = make_token(session, make_user(session, email="drift@example.no", superuser=True))
    plain = make_token(session, make_user(session, email="vanlig@example.no"))
    assert client.get("/api/v1/admin/load", headers=plain).status_code == 404
    assert client.get("/admin/load", headers=plain).status_code == 404
    places = reader.places()
    before = places.refused
    places.refused += 3  # as three queries refused for a long line
    try:
        body = client.get("/api/v1/admin/load", headers=admin).json()
        assert body["duckdb"]["refused"] == before + 3
        assert body["duckdb"]["size"] == places.size
        engine = engine_of(session)
        if engine.dialect.name == "sqlite":
            turn = writes.turn_for(engine.url.database)
            assert body["writer_turn"]["refused"] == turn.refused
        else:
            assert body["writer_turn"] is None
        page = client.get("/admin/load", headers=admin | {"Accept-Language": "en"})
        assert page.status_code == 200
        assert "Refused as busy (503)" in page.text and f"<td>{before + 3}</td>" in page.text
        norsk = client.get("/admin/load", headers=admin | {"Accept-Language": "nb"})
        assert "Avvist som opptatt (503)" in norsk.text
    finally:
        places.refused -= 3
