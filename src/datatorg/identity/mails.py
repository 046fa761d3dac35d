"""The e-mails identity sends, in the reader's language, queued in the outbox after commit."""

from __future__ import annotations

from sqlalchemy.orm import Session

from datatorg.identity.auth import ResetIssued
from datatorg.web.i18n import gettext as _

RESET_KIND = "password_reset"  # the outbox's kind of a reset mail
INVITATION_KIND = "membership_invitation"  # and of an invitation to a role


def reset_mail(issued: ResetIssued, *, minutes: int) -> tuple[str, str]:
    """Subject and body of a password reset mail (in the current request's language)."""
    subject = _("Reset your Datatorg password")
    body = "\n\n".join(
        [
            _("Someone (hopefully you) asked to reset the password of your Datatorg account."),
            _("Open this link to choose a new password:"),
            issued.link,
            _("The link works once and expires in {minutes} minutes.").format(minutes=minutes),
            _("If you did not ask for this, ignore this e-mail; your password stays the same."),
        ]
    )
    return subject, body


def invitation_mail(*, organisation: str, role: tuple[str, str], link: str) -> tuple[str, str]:
    """Subject and body of an invitation to a role, in bokmål and English (the invited
    person's language is not the inviting admin's)."""
    subject = f"Invitasjon til {organisation} / Invitation to {organisation}"
    body = "\n\n".join(
        [
            f"Du er invitert til rollen «{role[0]}» i {organisation} på Datatorg.",
            "Rollen gis først når du godtar. Godta eller avslå på kontosiden din:",
            link,
            f"You are invited to the role “{role[1]}” in {organisation} on Datatorg.",
            "The role is given only when you accept. Accept or decline on your account page:",
            link,
        ]
    )
    return subject, body


def queue_mail(*, session: Session, kind: str, to: str, subject: str, body: str) -> None:
    """Mail once ``session``'s transaction commits, through the outbox (retried while the
    mail server is down, never sent when the transaction rolls back)."""
    from datatorg.outbox import service as outbox  # the outbox sits above identity

    outbox.enqueue_mail(session=session, kind=kind, to=to, subject=subject, body=body)


def queue_reset_mail(*, session: Session, issued: ResetIssued, minutes: int) -> None:
    """Mail the reset link once ``session``'s transaction commits (the one that stored the
    link's digest), through the outbox like every other mail: retried if the mail server is
    down, never sent if the transaction rolls back, and nothing is sent inside the request."""
    from datatorg.outbox import service as outbox  # the outbox sits above identity

    subject, body = reset_mail(issued, minutes=minutes)
    outbox.enqueue_mail(
        session=session, kind=RESET_KIND, to=issued.email, subject=subject, body=body
    )
