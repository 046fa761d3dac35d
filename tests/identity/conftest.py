"""Identity fixtures: a real local SMTP server (aiosmtpd) on a random port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI

from tests.mailserver import Inbox, running


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[Controller, Inbox]]:
    inbox = Inbox()
    with running(inbox) as controller:
        yield controller, inbox


@pytest.fixture
def inbox(app: FastAPI, smtp_server: tuple[Controller, Inbox]) -> Iterator[Inbox]:
    """An empty inbox, with the app sending real mail to the local SMTP server."""
    controller, box = smtp_server
    box.clear()
    before = app.state.settings
    app.state.settings = before.model_copy(
        update={"mail_enabled": True, "smtp_host": "127.0.0.1", "smtp_port": controller.port}
    )
    yield box
    app.state.settings = before
