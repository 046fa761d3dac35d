"""What a usability walk of the living lab (bokmål, 360 px) found on the KPI page, held as
page tests: each fails on the page as it was before the fix."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.pilots import helpers
from tests.pilots.conftest import Lab, upload
from tests.plain import visible_text

NB = {"Accept-Language": "nb", "Accept": "text/html"}


def _kpi(client: TestClient, lab: Lab) -> tuple[str, str]:
    upload(client, lab)
    p = helpers.pilot(client, lab, domain="municipal_services", submitter_kind="startup")
    helpers.agreed(client, lab, p["id"])
    kpi = helpers.ok(
        client.post(
            f"/api/v1/pilots/{p['id']}/kpis",
            json={
                "name": "Strøm i skolene",
                "unit": "kWh",
                "direction": "decrease",
                "source": "dataset",
                "dataset": lab.dataset.slug,
                "query": "_agg=sum(kwh)&_bucket=month&category=skole",
                "baseline": 9000.5,
                "target": 7000,
            },
            headers=lab.h["researcher"],
        ),
        201,
    )
    return p["id"], kpi["id"]


def test_the_kpi_page_speaks_to_people_and_fits_a_phone(client: TestClient, lab: Lab) -> None:
    """The KPI page showed everyone the raw query and "ok", numbers as "515 536.5" and days
    as "2025-12-01", and its one chart shrank to ~5 px text on a 360 px phone."""
    pid, kid = _kpi(client, lab)
    html = client.get(f"/pilots/{pid}/kpis/{kid}", headers=NB).text
    text = visible_text(html)
    assert "_agg=" not in html and "Spørring" not in text  # a reader sees no query string
    assert not re.search(r"\bok\b", text) and "verdiene ble beregnet" in text
    assert not re.search(r"\d{4}-\d\d-\d\d", text), text  # days the reader's way
    assert "9 000,5" in text and not re.search(r"\d\.\d", text)  # nb decimal comma
    # the narrow drawing is about a phone's column wide, its text 13 units or more
    narrow = re.search(r'<svg[^>]*class="chart chart-narrow".*?</svg>', html, re.S)
    assert narrow, "no narrow chart"
    width = float(re.search(r'viewBox="0 0 (\d+)', narrow.group(0)).group(1))  # type: ignore[union-attr]
    assert width <= 360
    sizes = [int(s) for s in re.findall(r'font-size="(\d+)"', narrow.group(0))]
    assert sizes and min(sizes) * 330 / width >= 12
    # the team still sees its query
    team = client.get(f"/pilots/{pid}/kpis/{kid}", headers={**NB, **lab.h["researcher"]})
    assert "_agg=sum(kwh)" in team.text


def _field_says(html: str, tag: str, name: str) -> bool:
    """The ``tag`` with id ``name`` is marked invalid and described by its own message, and
    that message stands in the form (not only in the summary at the top)."""
    found = re.search(rf'<{tag} id="{name}"[^>]*>', html)
    return bool(
        found
        and ("aria-invalid" in found.group(0) or tag == "fieldset")
        and re.search(rf'aria-describedby="[^"]*\b{name}-error\b', found.group(0))
        and f'<p class="field-error" id="{name}-error">' in html
    )


def test_idea_screening_and_score_forms_say_what_is_wrong_next_to_the_field(
    client: TestClient, lab: Lab
) -> None:
    """The idea, screening and score forms listed errors only in the summary at the top."""
    token = helpers.csrf(client)
    r = client.post("/ideas/new", data={"csrf_token": token}, headers=lab.h["citizen"])
    assert r.status_code == 422
    assert _field_says(r.text, "input", "title") and _field_says(r.text, "textarea", "problem")
    assert 'aria-describedby="problem-error problem-hint"' in r.text  # the hint stays
    idea = helpers.submitted(client, lab)
    coord = lab.h["coordinator"]
    client.post(f"/ideas/{idea['id']}/screen", data={"csrf_token": token}, headers=coord)
    r = client.post(f"/ideas/{idea['id']}/screening", data={"csrf_token": token}, headers=coord)
    assert r.status_code == 422 and _field_says(r.text, "fieldset", "personal_data"), r.text
    client.post(
        f"/ideas/{idea['id']}/screening",
        data={"csrf_token": token, "personal_data": "false",
              "evaluator_ids": [str(lab.evaluators[0].id)]},
        headers=coord,
    )  # fmt: skip
    r = client.post(
        f"/ideas/{idea['id']}/evaluate", data={"csrf_token": token}, headers=lab.h["evaluator0"]
    )
    assert r.status_code == 422
    assert '<p class="field-error" id="scores-error">' in r.text
    assert 'class="criterion" aria-describedby="scores-error"' in r.text


def test_pilot_and_idea_pages_write_days_the_readers_way(client: TestClient, lab: Lab) -> None:
    """Phase dates, request periods, the timeline and the idea page said "2026-12-01"."""
    pid, _ = _kpi(client, lab)
    pilot = client.get(f"/pilots/{pid}", headers={**NB, **lab.h["researcher"]})
    assert pilot.status_code == 200
    text = visible_text(pilot.text)
    assert not re.search(r"\d{4}-\d\d-\d\d", text), re.findall(r".{40}\d{4}-\d\d-\d\d", text)
    idea_id = helpers.ok(client.get(f"/api/v1/pilots/{pid}", headers=lab.h["researcher"]))
    idea = client.get(f"/ideas/{idea_id['idea_id']}", headers={**NB, **lab.h["coordinator"]})
    assert idea.status_code == 200
    assert not re.search(r"\d{4}-\d\d-\d\d", visible_text(idea.text))


def test_an_ideas_datasets_are_ticked_not_ctrl_clicked(client: TestClient, lab: Lab) -> None:
    """The idea form asked for datasets in a <select multiple> with the hint "velg flere med
    Ctrl eller Cmd", which a phone has no key for; the datasets are now checkboxes in a
    fieldset, and a form sent back with a problem keeps them ticked."""
    citizen = {**NB, **lab.h["citizen"]}
    form = client.get("/ideas/new", headers=citizen).text
    assert "<select" not in form.split('id="datasets"')[1].split("</fieldset>")[0]
    assert "Ctrl" not in visible_text(form)
    choices = form.split('<fieldset id="datasets"')[1].split("</fieldset>")[0]
    assert "<legend>Datasett fra katalogen" in choices
    slug = lab.dataset.slug
    box = f'<input type="checkbox" id="dataset-{slug}" name="datasets" value="{slug}" >'
    assert box in choices
    r = client.post(
        "/ideas/new",
        data={"csrf_token": helpers.csrf(client), "title": "Ti", "datasets": [slug]},
        headers=citizen,
    )
    assert r.status_code == 422
    assert f'name="datasets" value="{slug}" checked>' in r.text
    assert "<details open>" in r.text.split('<fieldset id="datasets"')[1]
