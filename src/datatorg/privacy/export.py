"""The access and portability export (GDPR art. 15 and 20): one ZIP with

* ``export.json`` — identities, every dataset's rows about the subject (as JSON objects),
  consents with their history, disclosures, donations and requests, described by
  ``export.schema.json`` (JSON Schema 2020-12) and validated against it before the ZIP is
  written: an export that does not fit its schema is never handed out;
* ``datasets/<slug>.csv`` — the same rows as CSV (spreadsheet formulas neutralised);
* ``receipts/<consent id>.json`` — each consent's signed receipt;
* ``export.schema.json`` — the schema itself.

Rows are read through the gate (``access.service.export_subject_rows``), audited as the subject's
own reads. The ZIP is written to a temporary file and streamed; nothing is kept.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.access import service as access
from datatorg.catalog.models import Dataset
from datatorg.db.base import utcnow
from datatorg.identity.actor import Actor
from datatorg.identity.models import Organisation
from datatorg.privacy import donations, mydata, present, receipts, requests
from datatorg.privacy.consents import list_for
from datatorg.privacy.models import DatasetDeclaration, Subject
from datatorg.privacy.subjects import identities
from datatorg.settings import Settings

SCHEMA_PATH = Path(__file__).with_name("data") / "export.schema.json"


@cache
def schema() -> dict[str, Any]:
    found: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return found


def validate(document: dict[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` when ``document`` does not fit the schema."""
    jsonschema.Draft202012Validator(
        schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(document)


def build(
    *, session: Session, settings: Settings, actor: Actor, subject: Subject, target: Path
) -> dict[str, Any]:
    """Write the ZIP to ``target``; returns the validated ``export.json`` document."""
    work = Path(tempfile.mkdtemp(prefix="datatorg-export-"))
    try:
        return _build(session, settings, actor, subject, target, work)
    finally:
        for p in work.iterdir():
            p.unlink()
        work.rmdir()


def _build(
    session: Session,
    settings: Settings,
    actor: Actor,
    subject: Subject,
    target: Path,
    work: Path,
) -> dict[str, Any]:
    keys = frozenset({subject.subject_key})
    files: dict[str, Path] = {}
    datasets = []
    rows = session.execute(
        select(DatasetDeclaration, Dataset, Organisation)
        .join(Dataset, Dataset.id == DatasetDeclaration.dataset_id)
        .join(Organisation, Organisation.id == Dataset.publisher_id)
        .order_by(Dataset.slug)
    ).all()
    for decl, ds, org in rows:
        columns = mydata.own_columns(session, settings, ds, decl.subject_column)
        if columns is None:
            continue
        items = [("_col", ",".join(columns))]
        as_json = work / f"{ds.slug}.json"
        n = access.export_subject_rows(
            session=session,
            settings=settings,
            actor=actor,
            dataset=ds,
            subject_keys=keys,
            fmt="json",
            target=as_json,
            items=items,
        )
        if n == 0:
            continue
        as_csv = work / f"{ds.slug}.csv"
        access.export_subject_rows(
            session=session,
            settings=settings,
            actor=actor,
            dataset=ds,
            subject_keys=keys,
            fmt="csv",
            target=as_csv,
            items=items,
        )
        data = json.loads(as_json.read_text(encoding="utf-8"))
        files[f"datasets/{ds.slug}.csv"] = as_csv
        head_version = _version(session, settings, ds)
        datasets.append(
            {
                "dataset": ds.slug,
                "title": ds.title_nb,
                "provider": org.name,
                "legal_basis": decl.legal_basis,
                "version": head_version,
                "rows": n,
                "columns": list(data[0].keys()) if data else [],
                "data": data,
                "csv": f"datasets/{ds.slug}.csv",
            }
        )
    now = utcnow()
    consent_list = list_for(session=session, subject=subject)
    receipt_docs = {
        f"receipts/{c.id}.json": receipts.receipt(
            session=session, settings=settings, consent=c, now=now
        )
        for c in consent_list
    }
    document: dict[str, Any] = {
        "format": "datatorg-privacy-export/1",
        "generated_at": now.isoformat(),
        "identities": [
            {"kind": k, "value": v}
            for k, v in identities(session=session, settings=settings, subject=subject)
        ],
        "datasets": datasets,
        "consents": [
            present.consent_read(session, c, now).model_dump(mode="json") for c in consent_list
        ],
        "receipts": sorted(receipt_docs),
        "disclosures": mydata.jsonable(mydata.access_events(session=session, subject=subject)),
        "donations": mydata.jsonable(
            [
                {
                    "id": str(d.id),
                    "dataset": str(d.dataset_id),
                    "rows": d.rows,
                    "purposes": d.purposes,
                    "created_at": d.created_at,
                    "withdrawn_at": d.withdrawn_at,
                }
                for d in donations.list_for(session=session, subject=subject)
            ]
        ),
        "requests": [
            present.request_read(r).model_dump(mode="json")
            for r in requests.list_own(session=session, actor=actor)
        ],
    }
    validate(document)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("export.json", json.dumps(document, ensure_ascii=False, indent=1, default=str))
        z.writestr("export.schema.json", SCHEMA_PATH.read_text(encoding="utf-8"))
        for name, path in files.items():
            z.write(path, name)
        for name, doc in receipt_docs.items():
            z.writestr(name, json.dumps(doc, ensure_ascii=False, indent=1))
    return document


def _version(session: Session, settings: Settings, ds: Dataset) -> int:
    from datatorg.lake import service as lake

    head = lake.head(session=session, dataset_id=ds.id)
    return head.number if head else 1
