"""The live sensor pages in Chromium: axe-clean, usable at 360 px, and live: a reading sent
to the API shows up on the open page without reloading it (static/sensors.js polls); a walk
in bokmål on a 360 px phone shows words, never codes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session

from datatorg.catalog.models import Dataset, DatasetStatus
from datatorg.identity import service as identity
from datatorg.identity.models import Role
from datatorg.sensors import service
from tests.live import LiveServer, axe_violations
from tests.plain import english_leaks, visible_text

pytestmark = pytest.mark.browser


AIR = ("AirQualityObserved", [{"name": "no2", "type": "number", "unit": "GQ"}])
WASTE = (
    "WasteContainer",
    [
        {"name": "fillingLevel", "type": "number", "unit": "P1"},
        {"name": "status", "type": "string"},
    ],
)


def _stream(
    live: LiveServer, kind: tuple[str, list[dict[str, Any]]] = AIR
) -> tuple[str, list[str], dict[str, str]]:
    type_name, attributes = kind

    def make(session: Session) -> tuple[str, list[str], str]:
        n = uuid.uuid4().hex[:8]
        org = identity.create_organisation(session=session, slug=f"s-{n}", name="Sensor org")
        user = identity.create_user(
            session=session, email=f"s{n}@example.no", display_name="S", password="pw-123456789"
        )
        identity.add_membership(session=session, user=user, organisation=org, role=Role.publisher)
        ds = Dataset(
            slug=f"luft-live-{n}",
            title_nb="Luft i sanntid",
            title_en="Air, live",
            publisher_id=org.id,
            status=DatasetStatus.published,
        )
        session.add(ds)
        session.flush()
        stream = service.create_stream(
            session=session,
            actor=None,
            dataset=ds,
            type_name=type_name,
            attributes=attributes,
        )
        ids = []
        for i in range(4):
            ent = service.register_entity(
                session=session,
                stream=stream,
                entity_id=f"urn:ngsi-ld:{type_name}:{n}-{i}",
                attrs={
                    "https://smartdatamodels.org/name": {
                        "type": "Property",
                        "value": f"Stasjon {i}",
                    }
                },
                latitude=59.12 + i * 0.004,
                longitude=11.38 + i * 0.01,
            )
            ids.append(ent.id)
        token, _ = identity.create_token(session=session, user=user, name="browser")
        return ds.slug, ids, token

    slug, ids, token = live.with_session(make)
    return slug, ids, {"Authorization": f"Bearer {token}"}


def _send(
    live: LiveServer, slug: str, headers: dict[str, str], dev: str, no2: float, **values: Any
) -> None:
    reading = {"entityId": dev, "observedAt": datetime.now(UTC).isoformat()}
    reading |= values or {"no2": no2}
    r = httpx.post(
        f"{live.url}/api/v1/sensors/streams/{slug}/observations",
        headers=headers,
        json=[reading],
        timeout=30,
    )
    assert r.status_code == 200, r.text


def test_live_page_is_accessible_small_and_updates(live_server: LiveServer, browser: Any) -> None:
    slug, ids, headers = _stream(live_server)
    _send(live_server, slug, headers, ids[0], 12.5)
    context = browser.new_context(locale="nb-NO")
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/sensors")
        assert page.get_by_role("link", name="Luft i sanntid").count() == 1
        assert axe_violations(page) == []
        page.goto(f"{live_server.url}/sensors/{slug}")
        assert page.locator("svg.sensor-map.chart-wide circle[data-entity]").count() == 4
        cell = page.locator(f'td[data-entity="{ids[0]}"][data-attr="no2"]')
        assert cell.inner_text() == "12,5 µg/m³"
        assert axe_violations(page) == []
        _send(live_server, slug, headers, ids[0], 77.0)
        page.wait_for_function(
            "sel => document.querySelector(sel).textContent === '77,0 µg/m³'",
            arg=f'td[data-entity="{ids[0]}"][data-attr="no2"]',
            timeout=25_000,
        )
        dots = page.locator(f'circle[data-entity="{ids[0]}"]').all()  # wide and narrow map
        assert [d.get_attribute("fill") for d in dots] == ["#a85d00"] * 2  # 40–100: fair
        page.set_viewport_size({"width": 360, "height": 740})
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        page.get_by_role("link", name="Stasjon 0").click()
        page.wait_for_url(f"**/sensors/{slug}/{ids[0]}")
        assert page.locator("svg.chart.chart-wide").count() == 1
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        assert axe_violations(page) == []
    finally:
        context.close()


def test_a_phone_walk_in_bokmal_shows_words_not_codes(
    live_server: LiveServer, browser: Any
) -> None:
    slug, ids, headers = _stream(live_server, WASTE)
    _send(live_server, slug, headers, ids[0], 0, fillingLevel=0.85, status="lidOpen")
    _send(live_server, slug, headers, ids[1], 0, fillingLevel=0.2, status="ok")
    context = browser.new_context(locale="nb-NO", viewport={"width": 360, "height": 740})
    try:
        page = context.new_page()
        walk = [
            (f"{live_server.url}/sensors", "Sensorer i Halden"),
            (f"{live_server.url}/sensors/{slug}", "lokket åpent"),
            (f"{live_server.url}/sensors/{slug}/{ids[0]}", "Fyllingsgrad"),
            (f"{live_server.url}/datasets/{slug}", "Målt"),
            (f"{live_server.url}/datasets/{slug}/data", "Fyllingsgrad"),
        ]
        for url, words in walk:
            page.goto(url)
            assert page.evaluate("document.documentElement.lang") == "nb", url
            html = page.content()
            assert words in visible_text(html), url
            assert english_leaks(html) == [], url
            for code in ("lidOpen", "fillingLevel", "entityId", "observedAt"):
                assert code not in visible_text(html).split(), (url, code)
            assert page.evaluate("document.documentElement.scrollWidth") <= 360, url
            assert axe_violations(page) == [], url
        page.goto(f"{live_server.url}/sensors/{slug}")
        cell = page.locator(f'td[data-entity="{ids[0]}"][data-attr="fillingLevel"]')
        assert cell.inner_text() == "85 %"
        # the reading is open to read: the row's value came through the gate to a phone
        page.get_by_role("link", name="Stasjon 0").click()
        page.wait_for_url(f"**/sensors/{slug}/{ids[0]}")
        assert page.locator("svg.chart.chart-wide").count() == 1
    finally:
        context.close()
