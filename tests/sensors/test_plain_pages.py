"""Sensor datasets in plain words: every column of a stream has a title and a description in
bokmål and English, and the bokmål pages of a sensor dataset (the dataset page, the data
page, the offer, a request and its decision, the live pages) show no code names
(``entityId``, ``observedAt``, ``fillingLevel``, ``lidOpen`` …) and no English labels
(``tests/plain.py``, as ``tests/test_plain_language.py``)."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.catalog.models import Dataset
from datatorg.demo import sensors as sensors_demo
from datatorg.demo import world
from datatorg.identity import service as identity
from datatorg.identity.models import User
from datatorg.lake import service as lake
from datatorg.market import service as market
from datatorg.market.models import Offer
from datatorg.market.schemas import AccessRequestCreate
from datatorg.sensors import labels, service
from datatorg.sensors.models import SensorEntity, SensorStream
from datatorg.sensors.sdm import MODELS
from datatorg.settings import Settings
from tests.factories import make_token
from tests.lake.helpers import make_dataset, publisher
from tests.plain import english_leaks, visible_text
from tests.sensors.helpers import make_stream

WASTE = "avfallsbeholdere-fyllingsgrad"  # restricted: offer, requests, agreements
AIR = "luftkvalitet-sanntid"  # open
CODES = ("entityId", "observedAt", "fillingLevel", "lidOpen", "no2", "latitude")


def test_every_stream_column_has_words_in_both_languages() -> None:
    for model in MODELS.values():
        for m in model.measured:
            title, described = labels.column_words(m.name), labels.describe(m.name)
            assert title and all(title), (model.type_name, m.name)
            assert described and all(described), (model.type_name, m.name)
            assert not m.unit or labels.unit_symbol(m.unit), (model.type_name, m.unit)
    for name in ("entityId", "observedAt", "latitude", "longitude"):
        assert labels.column_words(name) and labels.describe(name), name


def test_stream_schema_titles_units_and_own_words(
    client: TestClient, session: Session, settings: Settings
) -> None:
    s = make_stream(session, devices=1)
    ds = session.get(Dataset, s.dataset_id)
    assert ds is not None
    head = lake.head(session=session, dataset_id=s.dataset_id)
    assert head is not None
    fields = lake.fields_by_name(head.table_schema)
    assert fields["entityId"]["title"] == "Enhet" and fields["entityId"]["title_en"] == "Device"
    assert fields["observedAt"]["title"] == "Målt"
    assert fields["observedAt"]["description_en"] == "When the values were observed (UTC)"
    assert fields["no2"]["unit"] == "µg/m³" and fields["no2"]["x-iri"].endswith("no2")
    assert "title" not in fields["count"]  # an attribute nobody gave words keeps its name
    # the catalog's column list says the same (the dataset page shows it)
    described = {f.name: f for f in ds.fields}
    assert described["observedAt"].title == "Målt" and described["no2"].unit == "µg/m³"
    en = lake.fields_by_name(lake.localized(head.table_schema, "en"))
    assert en["observedAt"]["title"] == "Observed at" and en["no2"]["title"] == "NO₂"
    assert lake.localized(head.table_schema, "nb") == head.table_schema

    # a stream's maker gives the words of attributes the registry does not know
    org, headers = publisher(session)
    attribute = {
        "name": "LAeq",
        "type": "number",
        "title_nb": "Støynivå",
        "title_en": "Noise level",
        "description_nb": "Ekvivalent lydnivå",
    }
    noise = make_dataset(session, org)
    body = {"dataset": noise.slug, "type_name": "NoiseLevelObserved", "attributes": [attribute]}
    r = client.post("/api/v1/sensors/streams", json=body, headers=headers)
    assert r.status_code == 201, r.text
    new = lake.head(session=session, dataset_id=noise.id)
    assert new is not None
    laeq = lake.fields_by_name(new.table_schema)["LAeq"]
    assert (laeq["title"], laeq["title_en"]) == ("Støynivå", "Noise level")
    assert (laeq["description"], laeq["description_en"]) == ("Ekvivalent lydnivå",) * 2
    for key, value in (("title_nb", "a\x00b"), ("title_en", "x" * 121), ("description_en", 7)):
        bad = {**body, "dataset": make_dataset(session, org).slug}
        bad["attributes"] = [{**attribute, key: value}]
        refused = client.post("/api/v1/sensors/streams", json=bad, headers=headers)
        assert refused.status_code == 422, (key, refused.text)


def _user(session: Session, email: str) -> User:
    found = session.scalar(select(User).where(User.email == email))
    assert found is not None, email
    return found


def test_bokmal_pages_of_a_sensor_dataset_show_no_codes(
    client: TestClient, session: Session, settings: Settings
) -> None:
    world.load_identity(session=session)
    for type_name in ("WasteContainer", "AirQualityObserved"):
        sensors_demo.load(session=session, settings=settings, only=type_name)
    session.flush()
    waste = session.scalar(select(Dataset).where(Dataset.slug == WASTE))
    assert waste is not None
    offer = session.scalar(select(Offer).where(Offer.dataset_id == waste.id))
    assert offer is not None
    consumer = _user(session, "consumer@demo.datatorg.no")
    vendor = _user(session, "publisher@fjordsensor.demo.datatorg.no")
    today = date.today()
    req = market.create_request(
        session=session,
        settings=settings,
        actor=identity.actor_for_user(session=session, user=consumer),
        data=AccessRequestCreate(
            offer_id=offer.id,
            purpose="ScientificResearch",
            description="Fyllingsgrad og tømming i en masteroppgave om avfall.",
            period_start=today,
            period_end=today + timedelta(days=60),
            columns=["entityId", "observedAt", "fillingLevel", "status"],
        ),
    )
    session.flush()
    device = {
        slug: session.scalar(
            select(SensorEntity.id)
            .join(SensorStream, SensorStream.id == SensorEntity.stream_id)
            .join(Dataset, Dataset.id == SensorStream.dataset_id)
            .where(Dataset.slug == slug)
            .order_by(SensorEntity.id)
            .limit(1)
        )
        for slug in (WASTE, AIR)
    }
    as_ = {
        "consumer": make_token(session, consumer),
        "vendor": make_token(session, vendor),
    }
    pages = [
        (None, "/sensors"),
        (None, f"/sensors/{AIR}"),
        (None, f"/sensors/{AIR}/{device[AIR]}"),
        (None, f"/datasets/{AIR}"),
        (None, f"/datasets/{AIR}/data"),
        (None, f"/datasets/{AIR}/data?_sort_desc=no2&no2__gte=1"),
        (None, f"/market/offers/{offer.id}"),
        ("consumer", f"/market/offers/{offer.id}"),
        ("consumer", f"/market/requests/{req.id}"),
        ("consumer", f"/datasets/{WASTE}"),
        ("vendor", f"/datasets/{WASTE}"),
        ("vendor", f"/datasets/{WASTE}/data"),
        ("vendor", f"/market/requests/{req.id}"),
        ("vendor", f"/market/requests/{req.id}/approve"),
        ("vendor", f"/market/offers/new?dataset={WASTE}"),
        ("vendor", f"/sensors/{WASTE}"),
        ("vendor", f"/sensors/{WASTE}/{device[WASTE]}"),
    ]
    found, shown = {}, {}
    for who, path in pages:
        headers = {"Accept": "text/html", "Accept-Language": "nb"} | (as_[who] if who else {})
        r = client.get(path, headers=headers)
        assert r.status_code == 200, (who, path, r.status_code)
        text = visible_text(r.text)
        shown[path] = text
        leaks = english_leaks(r.text) + [f"code {c!r}" for c in CODES if c in text.split()]
        if leaks:
            found[f"{who or 'public'} {path}"] = leaks
    assert found == {}, "\n".join(f"{page}: {leaks}" for page, leaks in found.items())
    # the columns are there, in words
    assert "Målt" in shown[f"/datasets/{AIR}/data"] and "NO₂" in shown[f"/datasets/{AIR}/data"]
    assert "Fyllingsgrad" in shown[f"/datasets/{WASTE}/data"]
    assert "Enhet" in shown[f"/market/offers/{offer.id}"]
    assert "Fyllingsgrad" in shown[f"/market/requests/{req.id}"]
    # and the English pages say them in English (``visible_text`` reads bokmål only)
    en = client.get(f"/datasets/{AIR}/data", headers={"Accept-Language": "en"})
    assert ">Observed at<" in en.text and ">Målt<" not in en.text
    offer_en = client.get(f"/market/offers/{offer.id}", headers={"Accept-Language": "en"})
    assert "Filling level" in offer_en.text and "Fyllingsgrad" not in offer_en.text
    assert service.get_stream(session=session, ref=WASTE).stream.type_name == "WasteContainer"
