"""Deep and wide input to the NGSI-LD API: a clear 400, never a 500, never a stored entity
that no read can answer, never a context that stays in every worker's memory.

* ``q`` with parentheses ~400 deep made the recursive parser raise ``RecursionError``
  (500, for anonymous callers too); ``coordinates`` nested ~1000 deep did the same in
  ``json.loads``.
* An attribute nested deeper than orjson writes (255 levels) was stored, after which every
  read of the entity (and of its type) answered 500; ~450 levels raised ``RecursionError``
  while checking the numbers.
* Each distinct @context a body carries is kept in a 256-entry cache: one of 8 MiB (and its
  term table) per request, from any signed-in caller.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.sensors.helpers import make_stream

TYPE = "AirQualityObserved"


def _nested(depth: int, leaf: Any = 1) -> Any:
    value: Any = leaf
    for _ in range(depth):
        value = [value]
    return value


def _clear_400(r: Any) -> None:
    assert r.status_code == 400, (r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("application/"), r.headers
    assert "Recursion" not in r.text and "Traceback" not in r.text


def test_deep_query_parameters_are_refused_plainly(client: TestClient, session: Session) -> None:
    s = make_stream(session, devices=1)
    deep_q = "(" * 400 + "no2>1" + ")" * 400
    deep_coords = "[" * 1500 + "]" * 1500  # within the 16 KiB query string
    for url, params in (
        ("/ngsi-ld/v1/entities", {"type": TYPE, "q": deep_q}),
        ("/ngsi-ld/v1/entities", {"type": TYPE, "q": "(" * 21 + "no2>1" + ")" * 21}),
        (
            "/ngsi-ld/v1/entities",
            {
                "type": TYPE,
                "georel": "near;maxDistance==10",
                "geometry": "Point",
                "coordinates": deep_coords,
            },
        ),
        ("/ngsi-ld/v1/temporal/entities", {"type": TYPE, "q": deep_q}),
    ):
        _clear_400(client.get(url, params=params))  # anonymous
        _clear_400(client.get(url, params=params, headers=s.headers))
    ok = client.get("/ngsi-ld/v1/entities", params={"type": TYPE, "q": "((no2>1|no2<1);!pm10)"})
    assert ok.status_code == 200, ok.text
    r = client.post(
        "/ngsi-ld/v1/subscriptions",
        headers=s.headers,
        json={
            "entities": [{"type": TYPE}],
            "q": deep_q,
            "notification": {"endpoint": {"uri": "http://93.184.216.34/n"}},
        },
    )
    _clear_400(r)


def test_an_attribute_no_read_could_answer_is_not_stored(
    client: TestClient, session: Session
) -> None:
    s = make_stream(session, devices=1)
    chain: dict[str, Any] = {"type": "Property", "value": 1}
    for _ in range(300):  # sub-attribute of a sub-attribute of ...
        chain = {"type": "Property", "value": 1, "sub": chain}
    for i, attr in enumerate(
        (
            {"type": "Property", "value": _nested(300)},
            {"type": "Property", "value": _nested(900)},
            {"type": "JsonProperty", "json": _nested(300)},
            {"type": "LanguageProperty", "languageMap": {"nb": _nested(300, "x")}},
            chain,
        )
    ):
        entity = {"id": f"urn:ngsi-ld:{TYPE}:deep-{i}", "type": TYPE, "note": attr}
        _clear_400(client.post("/ngsi-ld/v1/entities", json=entity, headers=s.headers))
        patch = {"note": attr}
        url = f"/ngsi-ld/v1/entities/{s.devices[0]}/attrs"
        _clear_400(client.post(url, json=patch, headers=s.headers))
    r = client.post(
        "/ngsi-ld/v1/entities",
        headers=s.headers,
        json={"id": f"urn:ngsi-ld:{TYPE}:ok", "type": TYPE, "note": _nested(20)},
    )
    assert r.status_code == 201, r.text
    r = client.get("/ngsi-ld/v1/entities", params={"type": TYPE, "limit": "1000"})
    assert r.status_code == 200, r.text  # every stored entity can be answered
    assert {e["id"] for e in r.json()} >= {f"urn:ngsi-ld:{TYPE}:ok", *s.devices}


def test_oversized_contexts_are_refused_before_they_are_kept(
    client: TestClient, session: Session
) -> None:
    s = make_stream(session, devices=1)
    headers = s.headers | {"Content-Type": "application/ld+json"}
    body: dict[str, Any] = {
        "type": "Subscription",
        "entities": [{"type": TYPE}],
        "notification": {"endpoint": {"uri": "http://93.184.216.34/n"}},
    }
    wide = {f"t{i}": f"https://example.org/{i}" for i in range(3000)}
    split = [{f"t{j}-{i}": "https://example.org/x" for i in range(1500)} for j in range(2)]
    long_iri = {"t": "https://example.org/" + "x" * 100_000}
    many = ["https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"] * 40
    for ctx in (wide, split, long_iri, many):
        r = client.post(
            "/ngsi-ld/v1/subscriptions", json={**body, "@context": ctx}, headers=headers
        )
        _clear_400(r)
        assert "@context" in r.json()["detail"]
    small = {"t1": "https://example.org/1"}
    r = client.post("/ngsi-ld/v1/subscriptions", json={**body, "@context": small}, headers=headers)
    assert r.status_code == 201, r.text
