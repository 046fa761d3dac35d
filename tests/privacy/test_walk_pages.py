"""What a usability walk of the privacy pages (bokmål, 360 px) found, held as page tests:
each fails on the page as it was before the fix."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import make_org, make_token
from tests.privacy.helpers import citizen, personal_dataset

NB = {"Accept-Language": "nb"}


def test_the_request_form_says_what_is_wrong_next_to_the_field(
    client: TestClient, session: Session
) -> None:
    """A request sent empty or wrong listed the problem only as plain text at the top."""
    personal_dataset(session, make_org(session))
    auth = {**NB, **make_token(session, citizen(session))}
    client.get("/my/requests", headers=auth)
    token = client.cookies.get("datatorg_csrf")
    bad = client.post(
        "/my/requests", headers=auth, data={"csrf_token": token, "type": "rectification"}
    )
    assert bad.status_code == 422
    select = re.search(r'<select id="dataset"[^>]*>', bad.text)
    assert select and 'aria-invalid="true"' in select.group(0)
    assert 'aria-describedby="dataset-error"' in select.group(0)
    assert re.search(r'<p class="field-error" id="dataset-error">Oppgi datasettet', bad.text)
    assert 'href="#dataset"' in bad.text  # the summary links to the field
    wrong = client.post(
        "/my/requests", headers=auth, data={"csrf_token": token, "type": "nonsense'--"}
    )
    assert wrong.status_code == 422
    assert '<fieldset id="type" aria-describedby="type-error">' in wrong.text
    assert '<p class="field-error" id="type-error">' in wrong.text


def test_my_data_says_how_rows_about_a_newcomer_would_be_found(
    client: TestClient, session: Session
) -> None:
    """A newcomer read only "Ingen datasett har rader om deg." with no word on how the
    platform would come to know which rows are theirs."""
    auth = {**NB, **make_token(session, citizen(session))}
    page = client.get("/my/data", headers=auth)
    assert page.status_code == 200 and "Ingen datasett har rader om deg." in page.text
    assert "Hvordan vi kjenner deg igjen" in page.text and "målernummer" in page.text
    assert "koblet til kontoen din" in page.text
