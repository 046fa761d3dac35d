"""Messages of the privacy domain: to stewards (a new request), to the subject (extended,
completed, rejected) and to recipients (rows they received were erased).

Each message goes to the in-app inbox (the marketplace's ``Notification`` table) and by
e-mail, in the recipient's language. The e-mail leaves through the outbox
(``datatorg.outbox``): it is queued in the transaction that causes it and sent after that
transaction commits, never if it rolls back, and a mail outage only delays it. No message
names the data subject: a recipient learns which dataset and which agreement, never whose
rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.catalog.models import Dataset
from datatorg.identity.models import Membership, Role, User
from datatorg.market.models import Notification
from datatorg.outbox import service as outbox
from datatorg.privacy import vocab
from datatorg.privacy.models import DatasetDeclaration, SubjectRequest
from datatorg.settings import Settings
from datatorg.web import i18n
from datatorg.web.labels import Label
from datatorg.web.urls import base_for

N_ = vocab.N_
KINDS = {
    "privacy_request": N_("Data subject request"),
    "privacy_erasure": N_("Data erased"),
}


def send(
    *,
    session: Session,
    settings: Settings | None,
    user_ids: Iterable[uuid.UUID],
    kind: str,
    subject: str,
    body: str,
    link: str = "",
    params: dict[str, str | Label] | None = None,
) -> int:
    """Inbox and e-mail (through the outbox) for each user; ``subject``/``body`` are msgids
    with ``{params}`` (a ``Label``, such as a dataset's titles, in the reader's language)."""
    assert kind in KINDS
    count = 0
    for user_id in dict.fromkeys(user_ids):
        user = session.get(User, user_id)
        if user is None or not user.is_active:
            continue
        locale = user.locale if user.locale in i18n.LOCALES else "nb"
        token = i18n.locale_var.set(locale)
        try:
            args = {
                k: v.text(locale) if isinstance(v, Label) else i18n.gettext(v)
                for k, v in (params or {}).items()
            }
            subj = i18n.gettext(subject).format(**args)
            text = i18n.gettext(body).format(**args)
        finally:
            i18n.locale_var.reset(token)
        session.add(Notification(user_id=user.id, kind=kind, subject=subj, body=text, link=link))
        count += 1
        if settings is not None:
            url = base_for(settings) + link
            outbox.enqueue_mail(
                session=session, kind=kind, to=user.email, subject=subj, body=f"{text}\n\n{url}\n"
            )
    session.flush()
    return count


def steward_ids(session: Session) -> list[uuid.UUID]:
    """Stewards of the organisations that publish datasets with data subjects."""
    orgs = select(Dataset.publisher_id).join(
        DatasetDeclaration, DatasetDeclaration.dataset_id == Dataset.id
    )
    return sorted(
        set(
            session.scalars(
                select(Membership.user_id).where(
                    Membership.role == Role.steward, Membership.organisation_id.in_(orgs)
                )
            )
        )
    )


def stewards(*, session: Session, settings: Settings, request: SubjectRequest) -> int:
    return send(
        session=session,
        settings=settings,
        user_ids=steward_ids(session),
        kind="privacy_request",
        subject=N_("New data subject request: {type}"),
        body=N_("A data subject request ({type}) was received. Handle it before its due date."),
        link=f"/privacy/requests/{request.id}",
        params={"type": vocab.REQUEST_TYPE_LABELS[request.type.value]},
    )


def subject(*, session: Session, settings: Settings, request: SubjectRequest) -> int:
    if request.user_id is None:
        return 0
    return send(
        session=session,
        settings=settings,
        user_ids=[request.user_id],
        kind="privacy_request",
        subject=N_("Your request: {state}"),
        body=N_(
            "Your request ({type}) is now: {state}. See the details and any reason on the page."
        ),
        link=f"/my/requests/{request.id}",
        params={
            "type": vocab.REQUEST_TYPE_LABELS[request.type.value],
            "state": vocab.REQUEST_STATE_LABELS[request.state.value],
        },
    )


def erasure_recipients(
    *,
    session: Session,
    settings: Settings,
    notices: dict[tuple[uuid.UUID, uuid.UUID], tuple[str, str]],
) -> int:
    """Tell each recipient user which dataset's rows were erased, under which agreement: one
    message per agreement, naming its dataset and linking to it.

    ``notices`` maps (user id, agreement id) to the dataset's titles (bokmål, English). The
    person is never named.
    """
    sent = 0
    for (user_id, agreement_id), (title_nb, title_en) in sorted(notices.items()):
        sent += send(
            session=session,
            settings=settings,
            user_ids=[user_id],
            kind="privacy_erasure",
            subject=N_("Data erased: {dataset}"),
            body=N_(
                "Rows of the dataset {dataset} that you received under agreement {agreements} "
                "were erased at the request of the person they were about. Delete them from "
                "every copy you keep; new reads no longer return them."
            ),
            link=f"/market/agreements/{agreement_id}",
            params={
                "dataset": Label(title_nb, title_en or title_nb),
                "agreements": str(agreement_id),
            },
        )
    return sent
