"""JSON API of sensor streams: make a stream, register devices, send observations, counters.

``POST /api/v1/sensors/streams/{ref}/observations`` takes up to 10,000 observations as JSON
or CSV; a 2xx answer means they are stored durably (committed, and on SQLite its WAL file
fsynced) and visible to readers.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from datatorg.errors import BadRequest, Forbidden, Invalid, PayloadTooLarge
from datatorg.identity.actor import Actor
from datatorg.identity.deps import ActorDep, UserActorDep
from datatorg.lake import service as lake
from datatorg.sensors import deps as access_deps
from datatorg.sensors import ingest, policies, service
from datatorg.sensors.models import SensorEntity
from datatorg.sensors.ngsi import http
from datatorg.web.deps import SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1/sensors", tags=["sensors"])


class AttributeIn(BaseModel):
    name: str = Field(max_length=63)
    type: str = Field(max_length=10)
    unit: str = Field("", max_length=20)
    iri: str | None = Field(None, max_length=300)
    title_nb: str = Field("", max_length=120, description="the column's title in bokmål")
    title_en: str = Field("", max_length=120, description="the column's title in English")
    description_nb: str = Field("", max_length=1000)
    description_en: str = Field("", max_length=1000)


class StreamCreate(BaseModel):
    dataset: str = Field(max_length=120, description="slug or UUID of the dataset")
    type_name: str = Field(max_length=63, description="entity type, e.g. AirQualityObserved")
    entity_type: str | None = Field(None, max_length=300, description="expanded type IRI")
    attributes: list[AttributeIn] = Field(max_length=200)


class DeviceIn(BaseModel):
    id: str = Field(max_length=256, description="a URI, or a device id (urn:ngsi-ld:<Type>:<id>)")
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    name: str | None = Field(None, max_length=200)


def _stream_json(ref: service.StreamRef) -> dict[str, Any]:
    return {
        "dataset": ref.dataset.slug,
        "type_name": ref.stream.type_name,
        "entity_type": ref.stream.entity_type,
        "attributes": ref.stream.attributes,
        "mqtt_topic": f"datatorg/{ref.stream.type_name}/<device id>",
    }


@router.get("/streams", dependencies=[access_deps.READ_ANY])
def list_streams(session: SessionDep) -> dict[str, Any]:
    """Every sensor stream (each a live dataset) with its attributes."""
    return {"streams": [_stream_json(r) for r in service.streams(session=session)]}


@router.post("/streams", status_code=201, dependencies=[access_deps.WRITER])
def create_stream(body: StreamCreate, session: SessionDep, actor: UserActorDep) -> dict[str, Any]:
    """Make a dataset a sensor stream (publishers of its organisation)."""
    dataset = lake.get_dataset(session=session, ref=body.dataset, related=False)
    stream = service.create_stream(
        session=session,
        actor=actor,
        dataset=dataset,
        type_name=body.type_name,
        entity_type=body.entity_type,
        attributes=[a.model_dump() for a in body.attributes],
    )
    return _stream_json(service.StreamRef(stream, dataset))


@router.get("/streams/{ref}", dependencies=[access_deps.READ_ANY])
def get_stream(ref: str, session: SessionDep) -> dict[str, Any]:
    """A stream, its ingest counters per channel and outcome, and its device count."""
    found = service.get_stream(session=session, ref=ref)
    body = _stream_json(found)
    body["counters"] = service.counters(session=session, scope=found.dataset.slug).get(
        found.dataset.slug, {}
    )
    body["devices"] = service.device_count(session=session, stream=found.stream)
    return body


def _manage(session: Any, actor: Actor, ref: str) -> service.StreamRef:
    found = service.get_stream(session=session, ref=ref)
    if not policies.can_manage_stream(actor, found.dataset):
        raise Forbidden("Only publishers of the owning organisation may send to this stream")
    return found


@router.post("/streams/{ref}/devices", status_code=201, dependencies=[access_deps.STREAM_WRITER])
def register_devices(
    ref: str, body: list[DeviceIn], session: SessionDep, actor: UserActorDep
) -> dict[str, Any]:
    """Register devices (entities) of the stream; ids already there are left as they are."""
    found = _manage(session, actor, ref)
    if len(body) > 1000:
        raise PayloadTooLarge("At most 1000 devices per request")
    created, existing = [], []
    for i, dev in enumerate(body):
        try:
            ident = ingest.entity_id(dev.id, found.stream.type_name)
        except ValueError as exc:
            raise Invalid(str(exc), errors=[{"index": i, "field": "id"}]) from None
        if session.get(SensorEntity, ident) is not None:
            existing.append(ident)
            continue
        attrs = {}
        if dev.name:
            attrs["https://smartdatamodels.org/name"] = {"type": "Property", "value": dev.name}
        service.register_entity(
            session=session,
            stream=found.stream,
            entity_id=ident,
            attrs=attrs,
            latitude=dev.latitude,
            longitude=dev.longitude,
        )
        created.append(ident)
    return {"created": created, "existing": existing}


async def _read_body(request: Request) -> bytes:
    """The request body, refused with 413 past ``ingest.MAX_BODY_BYTES`` while reading."""
    declared = request.headers.get("content-length")
    if declared and http.whole(declared) and int(declared) > ingest.MAX_BODY_BYTES:
        raise PayloadTooLarge(f"At most {ingest.MAX_BODY_BYTES // 2**20} MiB per request")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > ingest.MAX_BODY_BYTES:
            raise PayloadTooLarge(f"At most {ingest.MAX_BODY_BYTES // 2**20} MiB per request")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/streams/{ref}/observations", dependencies=[access_deps.STREAM_WRITER])
async def post_observations(
    ref: str, request: Request, session: SessionDep, settings: SettingsDep, actor: ActorDep
) -> JSONResponse:
    """Store a batch of up to 10,000 observations (``application/json`` or ``text/csv``).

    JSON: an array of ``{"entityId", "observedAt", "<attribute>": value, …}`` (or
    ``{"observations": [...]}``); CSV: a header ``entityId,observedAt,<attribute>…``.
    ``entityId`` is a URI or a device id (``urn:ngsi-ld:<Type>:<id>``). By default a batch
    with a malformed observation or an unknown device is refused whole (422, each problem
    named); ``?partial=true`` stores the good ones and reports the rest. Duplicates (same
    entity and observedAt) are dropped and counted; older observations are stored and
    counted as out of order. The answer counts each outcome; 2xx means stored durably.
    """
    partial = request.query_params.get("partial", "").lower() in ("1", "true", "yes")
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if kind not in ("application/json", "text/csv", "application/x-ndjson", ""):
        raise BadRequest("Send application/json or text/csv")
    body = await _read_body(request)

    def work() -> dict[str, Any]:
        found = _manage(session, actor, ref)
        spec = service.spec_of(found.stream)
        session.commit()  # the writer turn is not held while the body is parsed
        try:
            parsed = (ingest.parse_csv if kind == "text/csv" else ingest.parse_json)(body, spec)
        except ingest.BatchTooLarge as exc:
            raise PayloadTooLarge(str(exc)) from None
        except ingest.Unreadable as exc:
            service.count_refused(
                session=session, scope=found.dataset.slug, channel="http", malformed=1
            )
            raise BadRequest(str(exc)) from None
        place = "line" if kind == "text/csv" else "index"
        problems = [p.as_dict(place) for p in parsed.problems]
        if parsed.malformed and not partial:
            service.count_refused(
                session=session,
                scope=found.dataset.slug,
                channel="http",
                malformed=parsed.malformed,
            )
            raise Invalid(
                f"{parsed.malformed} of the observations are malformed; nothing was stored",
                errors=problems,
            )
        outcome = service.ingest(
            session=session,
            settings=settings,
            ref=found,
            parsed=parsed,
            channel="http",
            whole=not partial,
        )
        if outcome.refused:
            raise Invalid(
                f"{outcome.unknown_device} observations are for devices this stream does not "
                "know; nothing was stored",
                errors=[{"entityId": i, "message": "unknown device"} for i in outcome.unknown_ids],
            )
        return outcome.counts() | {"unknown_ids": outcome.unknown_ids, "problems": problems}

    result = await run_in_threadpool(work)
    return JSONResponse(result)
