"""A real local SMTP server (aiosmtpd) for the tests that follow mail out of the outbox.

``running()`` starts one on a free port; the ``smtp`` fixture (tests/conftest.py) gives a
test an empty ``Inbox`` and settings that send to it.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from typing import Any

from aiosmtpd.controller import Controller


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

    def clear(self) -> None:
        self.messages.clear()
        self.recipients.clear()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(inbox: Inbox) -> Iterator[Controller]:
    """An SMTP server on 127.0.0.1 delivering into ``inbox``, stopped afterwards."""
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()
