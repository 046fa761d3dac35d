"""Identity fixtures: a real local SMTP server (aiosmtpd) on a random port."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI


@dataclass
class Inbox:
    """What the local SMTP server received."""

    messages: list[Message] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted"

    def body(self, n: int = -1) -> str:
        message = self.messages[n]
        assert isinstance(message, EmailMessage)
        return str(message.get_content())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[Controller, Inbox]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


@pytest.fixture
def inbox(app: FastAPI, smtp_server: tuple[Controller, Inbox]) -> Iterator[Inbox]:
    """An empty inbox, with the app sending real mail to the local SMTP server."""
    controller, box = smtp_server
    box.messages.clear()
    box.recipients.clear()
    before = app.state.settings
    app.state.settings = before.model_copy(
        update={"mail_enabled": True, "smtp_host": "127.0.0.1", "smtp_port": controller.port}
    )
    yield box
    app.state.settings = before
