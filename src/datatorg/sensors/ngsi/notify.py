"""NGSI-LD notifications: queued with the change, sent after commit, read through the gate.

``enqueue`` runs in the transaction that changes entities (NGSI-LD writes, HTTP and MQTT
ingestion): for each active subscription whose entity selector, ``watchedAttributes``,
``q`` and ``geoQ`` match a changed entity (and whose ``throttling`` allows), it writes one
``NgsiNotification`` row holding the entities as they are now. That row is the outbox: it
exists only if the change committed. ``deliver`` (the ingest worker runs it every second)
sends pending rows: for each it decides on the subscriber's behalf (``reads.Reader``: the
gate may refuse or hide attributes; every send is audited), renders the entities with the
subscription's @context and format, POSTs them, and records success or schedules a retry
(back-off doubling from 2 s, given up after 8 attempts).

(The platform-wide outbox of the ``robust`` work will carry these once it lands; the
table and the sender here are then replaced by it.)
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from datatorg.db import writes
from datatorg.db.base import utcnow
from datatorg.identity import service as identity
from datatorg.identity.actor import Actor
from datatorg.identity.models import ApiToken, User
from datatorg.sensors import service
from datatorg.sensors.models import NgsiNotification, NgsiSubscription, SensorEntity, SensorStream
from datatorg.sensors.ngsi import context as ld
from datatorg.sensors.ngsi import model
from datatorg.sensors.ngsi.endpoints import Refused, target
from datatorg.sensors.ngsi.patterns import compile_pattern
from datatorg.sensors.ngsi.query import geo_matches, matches, parse, parse_geo
from datatorg.sensors.ngsi.reads import Reader
from datatorg.settings import Settings

log = logging.getLogger("datatorg.sensors.notify")
MAX_ATTEMPTS = 8
# Unsent notifications one subscription may have. Each change of a matching entity queues
# one (with the entities as they are), in the transaction of the ingestion that made it:
# a subscriber whose endpoint never answers (100 subscriptions per account, accounts free)
# made every micro-batch write 100 rows of ~30 KB that stayed a day. Past this many, changes
# are not queued for it until it catches up (a broker's per-subscriber queue limit).
MAX_PENDING = 20
MAX_THROTTLING = 366 * 24 * 3600  # seconds; ``now - throttling`` must stay a date
LEASE = timedelta(seconds=60)
BATCH = 50


def _selected(sub: dict[str, Any], ent: SensorEntity) -> bool:
    selectors = sub.get("entities")
    if not selectors:
        return True
    for sel in selectors:
        if sel["type"] != ent.type:
            continue
        if "id" in sel and sel["id"] != ent.id:
            continue
        if "idPattern" in sel and not compile_pattern(sel["idPattern"]).fullmatch(ent.id):
            continue
        return True
    return False


def _conditions(doc: dict[str, Any], ctx: ld.Context) -> tuple[Any, Any, set[str]]:
    """A subscription's parsed ``q``, ``geoQ`` and ``watchedAttributes``."""
    q = parse(doc["q"], ctx) if doc.get("q") else None
    g = doc.get("geoQ")
    geo = (
        parse_geo(
            g.get("georel"),
            g.get("geometry"),
            g["coordinates"]
            if isinstance(g.get("coordinates"), str)
            else orjson.dumps(g.get("coordinates")).decode(),
            g.get("geoproperty"),
            ctx,
        )
        if g
        else None
    )
    return q, geo, set(doc.get("watchedAttributes", []))


def _pending(session: Session) -> dict[str, int]:
    """Unsent notifications (waiting, in flight or to be retried) by subscription."""
    rows = session.execute(
        select(NgsiNotification.subscription_id, func.count())
        .where(NgsiNotification.sent_at.is_(None), NgsiNotification.failed.is_(False))
        .group_by(NgsiNotification.subscription_id)
    )
    return {str(sub_id): int(n) for sub_id, n in rows}


def _matching(
    sub: NgsiSubscription, changes: list[tuple[SensorEntity, set[str]]], now: datetime
) -> list[dict[str, Any]]:
    """What of ``changes`` ``sub`` is to be told of (nothing while it is throttled)."""
    doc = sub.doc
    throttle = doc.get("throttling")
    if (
        throttle
        and sub.last_notification
        and sub.last_notification > now - timedelta(seconds=min(float(throttle), MAX_THROTTLING))
    ):
        return []
    q, geo, watched = _conditions(doc, ld.build(sub.context or None))
    data = []
    for ent, changed in changes:
        if not _selected(doc, ent) or (watched and not watched & changed):
            continue
        if q is not None and not matches(q, ent.attrs):
            continue
        if geo is not None and not geo_matches(geo, ent.attrs):
            continue
        data.append(
            {
                "id": ent.id,
                "type": ent.type,
                "stream": str(ent.stream_id),
                "attrs": ent.attrs,
                "changed": sorted(changed),
            }
        )
    return data


def enqueue(session: Session, changes: list[tuple[SensorEntity, set[str]]]) -> int:
    """Queue notifications for ``changes`` (entity, changed expanded attribute names) in the
    caller's transaction; returns how many were queued."""
    if not changes:
        return 0
    now = utcnow()
    subs = list(session.scalars(select(NgsiSubscription).where(NgsiSubscription.active.is_(True))))
    pending = _pending(session)
    queued = 0
    for sub in subs:
        if sub.expires_at is not None and sub.expires_at <= now:
            continue
        if pending.get(sub.id, 0) >= MAX_PENDING:  # its endpoint does not keep up
            continue
        try:
            data = _matching(sub, changes, now)
        except Exception:  # a stored subscription must never fail the ingestion that calls
            log.warning("subscription skipped", extra={"subscription": sub.id}, exc_info=True)
            continue
        if data:
            session.add(NgsiNotification(subscription_id=sub.id, payload={"data": data}))
            sub.last_notification = now
            queued += 1
    return queued


def _actor(session: Session, sub: NgsiSubscription) -> Actor | None:
    user = session.get(User, sub.user_id)
    if user is None or not user.is_active:
        return None
    token_id = sub.doc.get("_token")  # made with an API token: only while it is valid
    if token_id is not None:
        token = session.get(ApiToken, uuid.UUID(str(token_id)))
        now = utcnow()
        if (
            token is None
            or token.revoked_at is not None
            or (token.expires_at is not None and token.expires_at <= now)
        ):
            return None
    actor = identity.actor_for_user(session=session, user=user)
    if sub.agreement_id is not None:
        from dataclasses import replace

        actor = replace(actor, agreement_id=sub.agreement_id)
    return actor


def render(
    session: Session, settings: Settings, sub: NgsiSubscription, note: NgsiNotification
) -> tuple[bytes, dict[str, str]] | None:
    """The body and headers of a notification, read through the gate for the subscriber;
    None when the gate lets none of its entities out."""
    actor = _actor(session, sub)
    if actor is None:
        return None
    ctx = ld.build(sub.context or None)
    fmt = sub.doc["notification"]
    pick = set(fmt["attributes"]) if fmt.get("attributes") else None
    q, geo, watched = _conditions(sub.doc, ctx)
    with Reader(session, settings, actor, attrs=pick) as reader:
        data = []
        for item in note.payload["data"]:
            stream = session.get(SensorStream, uuid.UUID(item["stream"]))
            if stream is None:
                continue
            ref = service.stream_ref(session=session, stream=stream)
            allowed = reader.decide(ref.stream, ref.dataset)
            if allowed is None:
                continue
            hidden = reader.hidden_attributes(ref.stream, allowed)
            attrs = {k: v for k, v in item["attrs"].items() if k not in hidden}
            # The conditions again, on what the subscriber may read: a q, geoQ or watched
            # attribute over a hidden attribute (or a hidden location) would otherwise tell
            # its values by whether a notification comes.
            if q is not None and not matches(q, attrs):
                continue
            if geo is not None and not geo_matches(geo, attrs):
                continue
            if watched and "changed" in item and not watched & (set(item["changed"]) - hidden):
                continue
            data.append(
                model.entity_out(
                    item["id"],
                    item["type"],
                    attrs,
                    ctx,
                    key_values=fmt["format"] == "keyValues",
                    pick=pick,
                )
            )
            reader.count(allowed, 1)
        reader.finish()
    if not data:
        return None
    body: dict[str, Any] = {
        "id": f"urn:ngsi-ld:Notification:{uuid.uuid4()}",
        "type": "Notification",
        "subscriptionId": sub.id,
        "notifiedAt": model.now_stamp(),
        "data": data,
    }
    headers = {"Content-Type": fmt["endpoint"].get("accept", "application/json")}
    if headers["Content-Type"] == "application/ld+json":
        body["@context"] = ctx.body_value()
    else:
        headers["Link"] = ld.link_header(ctx)
    return orjson.dumps(body), headers


def deliver(
    factory: sessionmaker[Session], settings: Settings, client: httpx.Client | None = None
) -> int:
    """Send the pending notifications (each claimed with a lease first, so several senders
    never send one twice while it is in flight); returns how many were sent."""
    sent = 0
    own = client is None
    client = client or httpx.Client(timeout=10, follow_redirects=False)
    try:
        with factory() as session:
            now = utcnow()
            ids = list(
                session.scalars(
                    select(NgsiNotification.id)
                    .where(
                        NgsiNotification.sent_at.is_(None),
                        NgsiNotification.failed.is_(False),
                        NgsiNotification.next_attempt_at <= now,
                    )
                    .order_by(NgsiNotification.created_at)
                    .limit(BATCH)
                )
            )
            for note_id in ids:
                writes.begin(session)  # the claim waits its turn (SQLite: one writer)
                claimed = session.execute(
                    update(NgsiNotification)
                    .where(
                        NgsiNotification.id == note_id,
                        NgsiNotification.next_attempt_at <= now,
                        NgsiNotification.sent_at.is_(None),
                    )
                    .values(next_attempt_at=now + LEASE)
                    .execution_options(synchronize_session=False)
                )
                session.commit()
                if not claimed.rowcount:  # type: ignore[attr-defined]
                    continue
                try:
                    sent += _send_one(session, settings, client, note_id)
                except Exception:  # one that cannot be rendered must not hold up the rest
                    session.rollback()
                    log.warning("notification dropped", extra={"note": str(note_id)}, exc_info=True)
                    writes.begin(session)
                    session.execute(
                        update(NgsiNotification)
                        .where(NgsiNotification.id == note_id)
                        .values(failed=True, last_error="could not be rendered")
                        .execution_options(synchronize_session=False)
                    )
                    session.commit()
    finally:
        if own:
            client.close()
    return sent


def _send_one(
    session: Session, settings: Settings, client: httpx.Client, note_id: uuid.UUID
) -> int:
    note = session.get(NgsiNotification, note_id)
    sub = session.get(NgsiSubscription, note.subscription_id) if note else None
    if note is None or sub is None:
        return 0
    rendered = render(session, settings, sub, note)
    session.commit()  # the gate's decisions and audit records
    now = utcnow()
    if rendered is None:
        writes.begin(session)
        note.sent_at, note.last_error = now, "nothing the subscriber may read"
        session.commit()
        return 0
    body, headers = rendered
    error = ""
    try:
        url, host, extensions = target(sub.doc["notification"]["endpoint"]["uri"], settings)
        r = client.post(url, content=body, headers=headers | host, extensions=extensions)
        if not 200 <= r.status_code < 300:
            error = f"endpoint answered {r.status_code}"
    except Refused as exc:
        error = str(exc)
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}"
    writes.begin(session)  # no transaction was open while the endpoint answered
    note.attempts += 1
    if not error:
        note.sent_at = now
        sub.times_sent += 1
        sub.last_success = now
    else:
        note.last_error = error[:300]
        sub.times_failed += 1
        sub.last_failure = now
        if note.attempts >= MAX_ATTEMPTS:
            note.failed = True
        else:
            note.next_attempt_at = now + timedelta(seconds=2**note.attempts)
        log.warning(
            "notification not delivered", extra={"subscription": sub.id, "error": error[:100]}
        )
    session.commit()
    return 0 if error else 1


def cleanup(session: Session, keep: timedelta = timedelta(days=1)) -> None:
    """Forget notifications sent (or given up) longer ago than ``keep``."""
    from sqlalchemy import delete, or_

    cutoff = utcnow() - keep
    writes.begin(session)
    session.execute(
        delete(NgsiNotification).where(
            or_(
                NgsiNotification.sent_at < cutoff,
                (NgsiNotification.failed.is_(True)) & (NgsiNotification.created_at < cutoff),
            )
        )
    )
    session.commit()
