"""Data donation (data altruism, EU Data Governance Act): a citizen gives their own data —
an hourly meter export or a trip log, CSV or JSON — to a donation dataset, for purposes
they choose, sees it under "My data" and takes it back.

The file is read here (small: ``MAX_BYTES``), checked column by column, given the donor's
subject key and appended to the donation dataset through the lake's ordinary upload path
(which refuses formulas and malformed files whole). Donated rows are the donor's personal
data: the dataset's legal basis is consent, and the donor's consent for each chosen purpose
(scope: the donation dataset) is what lets a recipient read them. Taking a donation back
withdraws those consents (the rows leave the next query); erasing it removes the donor's
rows from every version and file of the dataset.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.audit import service as audit
from datatorg.catalog.models import AccessRights, Classification, Dataset, DatasetStatus
from datatorg.db.base import utcnow
from datatorg.errors import Invalid, NotFound, PayloadTooLarge
from datatorg.identity.models import Organisation
from datatorg.lake import service as lake
from datatorg.lake.models import WriteMode
from datatorg.privacy import consents, vocab
from datatorg.privacy.models import (
    VALID_STATES,
    Consent,
    DatasetDeclaration,
    Donation,
    IdentityKind,
    ScopeKind,
    Subject,
)
from datatorg.settings import Settings

MAX_BYTES = 5 * 1024 * 1024  # the messages say 5 MB
MAX_ROWS = 100_000  # and 100,000 rows
SUBJECT_COLUMN = "giver"
OWNER_SLUG = "halden-kommune"
N_ = vocab.N_


@dataclass(frozen=True)
class Kind:
    slug: str
    title_nb: str
    title_en: str
    label: str
    columns: tuple[tuple[str, str], ...]  # (name, type): datetime, number, string
    # each column's title (bokmål, English): the file names the columns, people read these
    titles: tuple[tuple[str, str], ...] = ()

    def column_titles(self, locale: str) -> dict[str, str]:
        """Column name → its title in ``locale``."""
        return {
            name: (en if locale == "en" else nb)
            for (name, _t), (nb, en) in zip(self.columns, self.titles, strict=True)
        }


KINDS = {
    "meter": Kind(
        "donerte-strommalinger",
        "Donerte strømmålinger",
        "Donated electricity readings",
        N_("Hourly electricity readings"),
        (("time", "datetime"), ("kwh", "number")),
        (
            ("Tidspunkt (starten av timen)", "Time (start of the hour)"),
            ("Strømforbruk", "Electricity use"),
        ),
    ),
    "trips": Kind(
        "donerte-turlogger",
        "Donerte turlogger",
        "Donated trip logs",
        N_("Trip log"),
        (("start", "datetime"), ("end", "datetime"), ("mode", "string"), ("km", "number")),
        (
            ("Start", "Start"),
            ("Slutt", "End"),
            ("Reisemåte", "Mode of travel"),
            ("Kilometer", "Kilometres"),
        ),
    ),
}
MODES = {"walk", "bike", "bus", "car", "train", "boat", "other"}


def column_titles(dataset_slug: str, locale: str) -> dict[str, str]:
    """The titles of a donation dataset's columns in ``locale`` ({} for any other dataset)."""
    for kind in KINDS.values():
        if kind.slug == dataset_slug:
            return kind.column_titles(locale)
    return {}


def bad(message: str, row: int | None = None, column: str | None = None) -> Invalid:
    where: dict[str, Any] = {"message": message}
    if row is not None:
        where["row"] = row
    if column is not None:
        where["column"] = column
    return Invalid(message, errors=[where])


def _records(raw: bytes, filename: str) -> list[dict[str, Any]]:
    if len(raw) > MAX_BYTES:
        raise PayloadTooLarge(N_("A donation can be at most 5 MB"))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError:
            raise bad(N_("The file is not text in UTF-8 or Windows-1252")) from None
    if "\x00" in text:
        raise bad(N_("The file is not a text file"))
    start = text.lstrip()[:1]
    if start in ("[", "{"):
        try:
            data: Any = (
                json.loads(text)
                if start == "["
                else [json.loads(line) for line in text.splitlines() if line.strip()]
            )
        except json.JSONDecodeError as exc:
            raise bad(f"The JSON is not valid (line {exc.lineno})") from None
        except RecursionError:  # arrays or objects nested ~1000 deep
            raise bad(N_("The JSON nests too deeply; give a list of flat objects")) from None
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise bad(N_("Give a JSON list of objects, one per row"))
        return data
    if not filename.lower().endswith((".csv", ".txt")) and "," not in text[:1000]:
        raise bad(N_("Upload a CSV or JSON file"))
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    rows = []
    for i, row in enumerate(reader, start=1):
        if i > MAX_ROWS:  # stop reading: 5 MB of short lines are over a million rows
            raise bad(N_("A donation can have at most 100,000 rows"))
        if None in row or any(v is None for v in row.values()):
            raise bad(N_("The row does not have as many cells as the header"), row=i)
        rows.append(row)
    return rows


def _value(kind: str, raw: Any, row: int, column: str) -> Any:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise bad(N_("A value is missing"), row=row, column=column)
    text = str(raw).strip()
    if kind == "datetime":
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            try:
                parsed = datetime.combine(date.fromisoformat(text), datetime.min.time())
            except ValueError:
                raise bad(N_("Not a time like 2025-01-31T14:00"), row=row, column=column) from None
        return parsed.replace(tzinfo=None).isoformat(timespec="seconds")
    if kind == "number":
        try:
            number = float(text.replace(",", ".")) if not isinstance(raw, int | float) else raw
        except ValueError:
            raise bad(N_("Not a number"), row=row, column=column) from None
        if number != number or abs(number) > 1e9:
            raise bad(N_("Not a usable number"), row=row, column=column)
        return number
    if len(text) > 40 or text.lower() not in MODES:
        raise bad(
            N_("Travel mode must be one of") + ": " + ", ".join(sorted(MODES)),
            row=row,
            column=column,
        )
    return text.lower()


def parse(raw: bytes, filename: str, kind: Kind) -> list[list[Any]]:
    """The donated rows in the kind's column order, or ``Invalid`` naming row and column."""
    records = _records(raw, filename)
    if not records:
        raise bad(N_("The file has no rows"))
    if len(records) > MAX_ROWS:
        raise bad(N_("A donation can have at most 100,000 rows"))
    names = [c for c, _t in kind.columns]
    got = {str(k).strip().lower() for k in records[0]}
    missing = [n for n in names if n not in got]
    if missing:
        raise bad(N_("Columns missing") + ": " + ", ".join(missing))
    out = []
    for i, rec in enumerate(records, start=1):
        low = {str(k).strip().lower(): v for k, v in rec.items()}
        out.append([_value(t, low.get(c), i, c) for c, t in kind.columns])
    return out


def donation_dataset(*, session: Session, kind: Kind) -> Dataset:
    """The donation dataset of ``kind``, created (with its declaration) on first use."""
    found = session.scalar(select(Dataset).where(Dataset.slug == kind.slug))
    if found is None:
        owner = session.scalar(select(Organisation).where(Organisation.slug == OWNER_SLUG))
        if owner is None:
            owner = session.scalar(select(Organisation).order_by(Organisation.created_at))
        if owner is None:
            raise NotFound(N_("No organisation can receive donations yet"))
        found = Dataset(
            slug=kind.slug,
            title_nb=kind.title_nb,
            title_en=kind.title_en,
            description_nb="Data innbyggere selv har gitt til allmennyttige formål.",
            description_en="Data citizens gave themselves for purposes of public benefit.",
            publisher_id=owner.id,
            access_rights=AccessRights.non_public,
            classification=Classification.personal,
            has_personal_data=True,
            status=DatasetStatus.published,
        )
        session.add(found)
        session.flush()
    if session.get(DatasetDeclaration, found.id) is None:
        session.add(
            DatasetDeclaration(
                dataset_id=found.id,
                subject_column=SUBJECT_COLUMN,
                identity_kind=IdentityKind.subject_key,
                legal_basis="Consent",
                categories=["ProvidedPersonalData"],
            )
        )
        session.flush()
    return found


def donate(
    *,
    session: Session,
    settings: Settings,
    subject: Subject,
    kind_name: str,
    raw: bytes,
    filename: str,
    purposes: list[str],
) -> Donation:
    """Append the donor's rows to the donation dataset and give consent per purpose."""
    kind = KINDS.get(kind_name)
    if kind is None:
        raise bad(N_("Choose what kind of data you give"))
    chosen = sorted(set(purposes))
    if not chosen or any(p not in vocab.purpose_terms() for p in chosen):
        raise bad(N_("Choose at least one purpose"))
    rows = parse(raw, filename[:200], kind)
    dataset = donation_dataset(session=session, kind=kind)
    folder = Path(lake.new_staging(settings))
    source = folder / "donation.csv"
    with source.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([SUBJECT_COLUMN, *[c for c, _t in kind.columns]])
        w.writerows([subject.subject_key, *r] for r in rows)
    head = lake.head(session=session, dataset_id=dataset.id)
    titles = kind.column_titles("nb")
    types = [{"name": c, "type": t, "title": titles[c]} for c, t in kind.columns]
    changes = {
        "fields": [{"name": SUBJECT_COLUMN, "type": "string", "role": "subject_key"}, *types]
    }
    lake.ingest_file(
        session=session,
        settings=settings,
        dataset=dataset,
        source=source,
        filename="donation.csv",
        mode=WriteMode.append if head else WriteMode.replace,
        uploaded_by=None,
        changes=None if head else changes,
    )
    for purpose in chosen:
        consents.give(
            session=session,
            subject=subject,
            purpose=purpose,
            scope_kind=ScopeKind.dataset,
            scope_ref=str(dataset.id),
            channel="web",
        )
    donation = Donation(
        subject_id=subject.id, dataset_id=dataset.id, rows=len(rows), purposes=chosen
    )
    session.add(donation)
    session.flush()
    audit.record(
        session=session,
        actor=None,
        action="privacy.donation",
        target_type="dataset",
        target_id=str(dataset.id),
        details={"rows": len(rows), "purposes": chosen},
    )
    return donation


def list_for(*, session: Session, subject: Subject) -> list[Donation]:
    return list(
        session.scalars(
            select(Donation).where(Donation.subject_id == subject.id).order_by(Donation.created_at)
        )
    )


def take_back(
    *, session: Session, settings: Settings, subject: Subject, donation_id: uuid.UUID, erase: bool
) -> dict[str, Any]:
    """Withdraw every consent on the donation dataset (the rows leave the next query); with
    ``erase``, remove the donor's rows from every version and file of the dataset too."""
    donation = session.get(Donation, donation_id)
    if donation is None or donation.subject_id != subject.id:
        raise NotFound(N_("No such donation"))
    now = utcnow()
    withdrawn = 0
    for c in session.scalars(
        select(Consent).where(
            Consent.subject_id == subject.id,
            Consent.scope_kind == ScopeKind.dataset,
            Consent.scope_ref == str(donation.dataset_id),
        )
    ):
        if consents.state_at(c, now) in VALID_STATES:
            consents.withdraw(session=session, subject=subject, consent_id=c.id, now=now)
            withdrawn += 1
    same = select(Donation).where(
        Donation.subject_id == subject.id, Donation.dataset_id == donation.dataset_id
    )
    for d in session.scalars(same):
        d.withdrawn_at = d.withdrawn_at or now
    removed = 0
    if erase:
        report = lake.erase_rows(
            session=session,
            storage=lake.storage(settings),
            dataset_id=donation.dataset_id,
            column=SUBJECT_COLUMN,
            values=[subject.subject_key],
        )
        removed = report.rows_removed
    session.flush()
    return {"consents_withdrawn": withdrawn, "rows_removed": removed}
