"""The public register: every agreement on non-open data, readable by anyone.

It names the recipient organisation (a private person only as "private individual"), the
dataset, purpose, legal basis, period and state — never a person's name or e-mail address.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from sqlalchemy import Select, and_, func, not_, or_, select
from sqlalchemy.orm import Session

from datatorg.catalog.models import AccessRights, Classification, Dataset
from datatorg.db import text
from datatorg.db.base import utcnow
from datatorg.identity.models import Organisation
from datatorg.market.agreements import effective_state
from datatorg.market.metering import csv_cell
from datatorg.market.models import Agreement, AgreementState
from datatorg.market.schemas import RegisterEntry, RegisterPage
from datatorg.market.vocab import purposes

PRIVATE = "private individual"

_OPEN = and_(
    Dataset.access_rights == AccessRights.public,
    Dataset.classification == Classification.open,
    Dataset.has_personal_data.is_(False),
)


def _base(q: str) -> Select[Agreement, Dataset, Organisation]:
    stmt = (
        select(Agreement, Dataset, Organisation)
        .join(Dataset, Dataset.id == Agreement.dataset_id)
        .outerjoin(Organisation, Organisation.id == Agreement.assignee_org_id)
        .where(not_(_OPEN))
    )
    q = q.strip()[:100]
    if q:
        folded = text.fold_text(q)
        matching = [
            t
            for t, p in purposes().items()
            if folded in text.fold_text(p.label_en) or folded in text.fold_text(p.label_nb)
        ]
        stmt = stmt.where(
            or_(
                text.contains(Dataset.title_nb, q),
                text.contains(Dataset.title_en, q),
                text.contains(Organisation.name, q),
                text.contains(Agreement.purpose, q),
                Agreement.purpose.in_(matching),
            )
        )
    return stmt


def _entry(agreement: Agreement, dataset: Dataset, org: Organisation | None) -> RegisterEntry:
    term = purposes().get(agreement.purpose)
    return RegisterEntry(
        agreement_id=agreement.id,
        recipient=org.name if org else PRIVATE,
        recipient_kind=org.kind.value if org else "private_person",
        dataset=dataset.title_nb,
        dataset_en=dataset.title_en,
        dataset_slug=dataset.slug,
        purpose=agreement.purpose,
        purpose_iri=term.iri if term else "",
        legal_basis=agreement.legal_basis,
        valid_from=agreement.valid_from.date(),
        valid_until=(agreement.valid_until - timedelta(days=1)).date(),
        state=effective_state(agreement),
    )


def search(*, session: Session, q: str = "", page: int = 1, per_page: int = 25) -> RegisterPage:
    """One page of the register, newest agreement first, filtered by ``q``."""
    stmt = _base(q)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = session.execute(
        stmt.order_by(Agreement.agreed_at.desc(), Agreement.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return RegisterPage(
        items=[_entry(a, d, o) for a, d, o in rows], total=total, page=page, per_page=per_page
    )


def all_entries(*, session: Session, q: str = "", limit: int = 100_000) -> list[RegisterEntry]:
    rows = session.execute(
        _base(q).order_by(Agreement.agreed_at.desc(), Agreement.id).limit(limit)
    ).all()
    return [_entry(a, d, o) for a, d, o in rows]


def sharing_over_time(*, session: Session, months: int = 12) -> list[tuple[str, int]]:
    """Agreements in force at the end of each of the last ``months`` months (all states)."""
    today = utcnow().date()
    first = today.replace(day=1)
    ends: list[date] = []
    m = first
    for _ in range(months):
        ends.append(m)
        m = (m - timedelta(days=1)).replace(day=1)
    ends.reverse()
    rows = session.execute(
        select(
            Agreement.valid_from, Agreement.valid_until, Agreement.state, Agreement.state_changed_at
        )
        .join(Dataset, Dataset.id == Agreement.dataset_id)
        .where(not_(_OPEN))
    ).all()
    spans = []
    for vf, vu, state, changed in rows:
        end = vu
        if state in (AgreementState.revoked, AgreementState.terminated) and changed is not None:
            end = min(vu, changed)
        spans.append((vf.date(), end.date()))
    out = []
    for start in ends:
        nxt = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        count = sum(1 for vf, vu in spans if vf < nxt and vu > start)
        out.append((start.strftime("%Y-%m"), count))
    return out


def to_csv(entries: list[RegisterEntry]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    fields = [
        "agreement_id",
        "recipient",
        "recipient_kind",
        "dataset",
        "dataset_slug",
        "purpose",
        "purpose_iri",
        "legal_basis",
        "valid_from",
        "valid_until",
        "state",
    ]
    w.writerow(fields)
    for e in entries:
        data = e.model_dump(mode="json")
        w.writerow([csv_cell(data[f]) for f in fields])
    return buf.getvalue()
