"""What a usability walk of the sensor pages (bokmål, 360 px) found, held as page tests:
each fails on the page as it was before the fix."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.identity.models import Role
from datatorg.sensors import service
from tests.factories import make_org, make_token, make_user
from tests.lake.helpers import make_dataset

NB = {"Accept-Language": "nb", "Accept": "text/html"}
PHONE_COLUMN = 330  # px across a 360 px phone's content


def _min_px(svg: str) -> float:
    """The smallest text of a drawing in px when it is PHONE_COLUMN px wide."""
    width = float(re.search(r'viewBox="0 0 ([\d.]+)', svg).group(1))  # type: ignore[union-attr]
    sizes = [float(s) for s in re.findall(r'font-size="([\d.]+)"', svg)]
    return min(sizes) * PHONE_COLUMN / width


def test_sensor_maps_and_charts_are_readable_on_a_phone_and_write_numbers_the_nb_way(
    client: TestClient, session: Session
) -> None:
    """At 360 px the map's names were ~5 px and the device chart's axis ~5.6 px; a share
    (0–1) was drawn 0–0.9 under "%" while the table said "90 %"; "90.0" had a point."""
    org = make_org(session)
    headers = make_token(session, make_user(session, org=org, roles=(Role.publisher,)))
    ds = make_dataset(session, org, open_data=True)
    attributes = [
        {"name": "powerState", "type": "string"},
        {"name": "illuminanceLevel", "type": "number", "unit": "P1"},
        {"name": "no2", "type": "number", "unit": "GQ"},
    ]
    stream = service.create_stream(
        session=session, actor=None, dataset=ds, type_name="Streetlight", attributes=attributes
    )
    dev = service.register_entity(
        session=session, stream=stream, entity_id="urn:ngsi-ld:Streetlight:walk-1",
        latitude=59.12, longitude=11.39,
    ).id  # fmt: skip
    session.flush()
    now = datetime.now(UTC).replace(microsecond=0)
    body = [
        {"entityId": dev, "observedAt": (now - timedelta(minutes=10 * (4 - i))).isoformat(),
         "illuminanceLevel": 0.3 + 0.2 * i, "no2": 60.0 + 10 * i, "powerState": "on"}
        for i in range(4)
    ]  # fmt: skip
    r = client.post(f"/api/v1/sensors/streams/{ds.slug}/observations", json=body, headers=headers)
    assert r.status_code == 200, r.text

    page = client.get(f"/sensors/{ds.slug}", headers=NB).text
    [narrow_map] = re.findall(r'<svg class="sensor-map chart-narrow".*?</svg>', page, re.S)
    assert _min_px(narrow_map) >= 12
    assert "90,0 µg/m³" in page and "90.0" not in page

    device = client.get(f"/sensors/{ds.slug}/{dev}", headers=NB).text
    narrow = re.findall(r'<svg class="chart chart-narrow".*?</svg>', device, re.S)
    assert len(narrow) == 2 and all(_min_px(svg) >= 12 for svg in narrow)
    share = next(svg for svg in narrow if "Lysstyrke" in svg)
    ticks = re.findall(r'text-anchor="end" font-size="\d+" fill="#333">([^<]+)<', share)
    assert ticks[-1] == "100" and "0,9" not in ticks, ticks  # percent, like the table
    assert "90 %" in device and "0.9" not in device


def test_sensor_pages_show_norwegian_local_time(client: TestClient, session: Session) -> None:
    """The overview, stream and device pages wrote "2026-12-01 03:00 UTC" / "Målt (UTC)";
    a reader in Halden goes by local time (01:30 UTC in December is 02:30 in Oslo, in
    summer time 03:30)."""
    from datatorg.web import formatting

    assert formatting.local("2026-12-01T01:30:00", "nb") == "1. des. 2026 02:30"
    assert formatting.local("2026-07-01 01:30", "nb") == "1. juli 2026 03:30"
    org = make_org(session)
    headers = make_token(session, make_user(session, org=org, roles=(Role.publisher,)))
    ds = make_dataset(session, org, open_data=True)
    stream = service.create_stream(
        session=session, actor=None, dataset=ds, type_name="AirQualityObserved",
        attributes=[{"name": "no2", "type": "number", "unit": "GQ"}],
    )  # fmt: skip
    dev = service.register_entity(
        session=session, stream=stream, entity_id="urn:ngsi-ld:AirQualityObserved:walk-t",
        latitude=59.12, longitude=11.39,
    ).id  # fmt: skip
    session.flush()
    at = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=5)
    r = client.post(
        f"/api/v1/sensors/streams/{ds.slug}/observations",
        json=[{"entityId": dev, "observedAt": at.isoformat(), "no2": 20.0}],
        headers=headers,
    )
    assert r.status_code == 200, r.text
    oslo = formatting.moment(at.astimezone(formatting.LOCAL).replace(tzinfo=None), "nb")
    for path in ("/sensors", f"/sensors/{ds.slug}", f"/sensors/{ds.slug}/{dev}"):
        page = client.get(path, headers=NB).text
        assert "UTC" not in page, path
        assert oslo in page, (path, oslo)
    board = client.get(f"/api/v1/sensors/dashboard/{ds.slug}", headers=NB).json()
    assert board["devices"][0]["observedLocal"] == oslo  # what the live page writes in
