"""Outgoing e-mail over SMTP. Logs never carry the recipient or the body."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from datatorg.settings import Settings

log = logging.getLogger("datatorg.mail")


def send_mail(*, settings: Settings, to: str, subject: str, body: str) -> None:
    """Send a plain-text e-mail through the configured SMTP server (or only log that it would)."""
    if not settings.mail_enabled:
        log.info("mail disabled; not sent", extra={"subject_len": len(subject)})
        return
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user and settings.smtp_password:
            smtp.login(settings.smtp_user, settings.smtp_password.get_secret_value())
        smtp.send_message(msg)
    log.info("mail sent")
