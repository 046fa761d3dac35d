"""The demo sensors follow the Smart Data Models: validated offline against the model data
shipped in the pysmartdatamodels package (attributes, their JSON and NGSI-LD types, enums,
required attributes), and the bundled @contexts match the package."""

from __future__ import annotations

import gzip
import importlib.util
import json
import warnings
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.catalog.models import Dataset
from datatorg.demo import sensors as sensors_demo
from datatorg.identity import service as identity
from datatorg.identity.models import Organisation, OrgKind, Role
from datatorg.market.models import Offer
from datatorg.sensors.models import SensorEntity, SensorStream
from datatorg.sensors.sdm import CONTEXTS, MODELS, SdmModel
from datatorg.settings import Settings
from tests.factories import make_user

ROOT = Path(__file__).parent.parent.parent


def _package() -> Any:
    with warnings.catch_warnings():  # the package has `is not` with literals
        warnings.simplefilter("ignore")  # and invalid escapes: compile-time warnings
        import pysmartdatamodels.pysmartdatamodels as sdm
    return sdm


@cache
def _known(type_name: str) -> frozenset[str]:
    model = MODELS[type_name]
    return frozenset(_package().attributes_datamodel(model.subject, model.type_name))


@cache
def _json_type(type_name: str, name: str) -> str:
    model = MODELS[type_name]
    return str(_package().datatype_attribute(model.subject, model.type_name, name))


@cache
def _required(type_name: str) -> list[str]:
    model = MODELS[type_name]
    import pysmartdatamodels

    base = Path(pysmartdatamodels.__file__).parent / "model-assets"
    meta = json.loads((base / "datamodels_metadata.json").read_text(encoding="utf-8"))
    [found] = [
        m for m in meta if m["dataModel"] == model.type_name and m["subject"] == model.subject
    ]
    return list(found["required"])


@cache
def _rows() -> list[dict[str, Any]]:
    import pysmartdatamodels

    base = Path(pysmartdatamodels.__file__).parent / "model-assets"
    found: list[dict[str, Any]] = json.load(gzip.open(base / "smartdatamodels.json.gz"))
    return found


@cache
def _specs(type_name: str) -> dict[str, dict[str, Any]]:
    model = MODELS[type_name]
    rows = _rows()
    return {
        r["property"]: r
        for r in rows
        if r.get("dataModel") == model.type_name
        and r.get("repoName") == model.subject
        and "parentId" not in r
    }


JSON_TYPES = {
    "number": (int, float),
    "string": (str,),
    "array": (list,),
    "object": (dict,),
    "boolean": (bool,),
}


def validate(model: SdmModel, entity: dict[str, Any]) -> list[str]:
    """What is wrong with a keyValues entity under the package's model (empty: valid)."""
    known = _known(model.type_name)
    specs = _specs(model.type_name)
    problems = [f"missing {r}" for r in _required(model.type_name) if r not in entity]
    for name, value in entity.items():
        if name in ("id", "type"):
            continue
        if name not in known:
            problems.append(f"{name} is not an attribute of {model.type_name}")
            continue
        json_type = _json_type(model.type_name, name)
        if json_type in JSON_TYPES and (
            not isinstance(value, JSON_TYPES[json_type])
            or isinstance(value, bool)
            and json_type != "boolean"
        ):
            problems.append(f"{name}: {value!r} is not {json_type}")
        enum = specs.get(name, {}).get("enum")
        if enum and value not in enum:
            problems.append(f"{name}: {value!r} not in {enum}")
        if specs.get(name, {}).get("format") == "date-time":
            datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return problems


def test_bundled_contexts_match_the_package() -> None:
    spec = importlib.util.spec_from_file_location(
        "sdm_contexts", ROOT / "scripts" / "sdm_contexts.py"
    )
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    _package()
    spec.loader.exec_module(script)
    expected = script.contexts()
    for name, doc in expected.items():
        assert json.loads((CONTEXTS / name).read_text(encoding="utf-8")) == doc, name
    for model in MODELS.values():  # every measured attribute has the package's IRI
        specs = _specs(model.type_name)
        for m in model.measured:
            assert model.iri(m.name) == specs[m.name]["context"], (model.type_name, m.name)
            assert specs[m.name]["typeNGSI"] == "Property"


def test_validator_catches_what_is_wrong() -> None:
    model = MODELS["WasteContainer"]
    bad = {
        "id": "urn:x",
        "type": "WasteContainer",
        "fillingLevel": "full",
        "status": "gone",
        "nonsense": 1,
    }
    problems = validate(model, bad)
    assert "missing location" in problems
    assert any(p.startswith("fillingLevel") for p in problems)
    assert any(p.startswith("status") for p in problems)
    assert any(p.startswith("nonsense") for p in problems)


@pytest.mark.parametrize("type_name", sorted(MODELS))
def test_demo_entities_are_valid_smart_data_models(
    session: Session, settings: Settings, type_name: str
) -> None:
    for slug in ("fjordsensor", "halden-kommune"):
        if session.scalar(select(Organisation).where(Organisation.slug == slug)) is None:
            org = identity.create_organisation(
                session=session, slug=slug, name=slug, kind=OrgKind.business
            )
            make_user(session, org=org, roles=(Role.publisher,))  # sets the demo's offers
    session.flush()
    sensors_demo.load(session=session, settings=settings, only=type_name)
    model = MODELS[type_name]
    ents = list(
        session.scalars(
            select(SensorEntity)
            .join(SensorStream, SensorStream.id == SensorEntity.stream_id)
            .where(SensorStream.type_name == type_name)
        )
    )
    assert ents, "the demo made no devices"
    for ds in session.scalars(
        select(Dataset)
        .join(SensorStream, SensorStream.dataset_id == Dataset.id)
        .where(SensorStream.type_name == type_name)
    ):  # a restricted stream can be asked for: it has an offer
        assert ds.is_open or session.scalar(select(Offer.id).where(Offer.dataset_id == ds.id))
    for ent in ents:
        kv = sensors_demo.keyvalues(model, ent)
        kv["location"] = ent.attrs["https://uri.etsi.org/ngsi-ld/location"]["value"]
        assert validate(model, kv) == [], (ent.id, kv)
