"""The living lab's pages: every page in plain bokmål and English (labels, never codes), and
the journey through the HTML forms, which call the same services as the API."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.pilots.calls import today
from datatorg.pilots.models import Comment, CommentStatus, Idea, IdeaState, Pilot
from tests.pilots import helpers
from tests.pilots.conftest import Lab, upload
from tests.plain import english_leaks

# Codes that must never reach a reader (visible text only).
CODES_NB = re.compile(
    r"\b(submitted|screening|evaluating|accepted|rejected|withdrawn|running|completed|"
    r"exploration|experimentation|city_development|municipal_services|emergency_preparedness|"
    r"co_creation|citizen_involvement|data_availability|privacy_risk|startup|research|"
    r"REQUESTED|FINALIZED|TERMINATED|ImprovePublicServices|increase|decrease|manual|dataset)\b"
)
CODES_EN = re.compile(
    r"\b(city_development|municipal_services|emergency_preparedness|co_creation|"
    r"citizen_involvement|data_availability|privacy_risk|REQUESTED|FINALIZED|"
    r"ImprovePublicServices)\b"
)


def visible(html: str) -> str:
    """The text a reader sees: no tags, attributes, scripts or the JSON links' paths."""
    body = html.split("<main", 1)[1].split("</main>", 1)[0]
    body = re.sub(r"<(script|style|svg)\b.*?</\1>", " ", body, flags=re.S)
    body = re.sub(r"<code>.*?</code>", " ", body, flags=re.S)  # a KPI's query is shown as code
    return re.sub(r"<[^>]+>", " ", body)


def test_every_page_speaks_plain_bokmal_and_english(
    client: TestClient, session: Session, lab: Lab
) -> None:
    upload(client, lab)
    call = helpers.ok(
        client.post(
            "/api/v1/calls",
            json={
                "title": "Energi i byen",
                "theme": "Energi",
                "opens_on": today().isoformat(),
                "closes_on": (today() + timedelta(days=9)).isoformat(),
            },
            headers=lab.h["coordinator"],
        ),
        201,
    )
    p = helpers.pilot(client, lab, domain="municipal_services", submitter_kind="startup")
    helpers.agreed(client, lab, p["id"])
    kpi = helpers.ok(
        client.post(
            f"/api/v1/pilots/{p['id']}/kpis",
            json={
                "name": "Energibruk",
                "unit": "kWh",
                "direction": "decrease",
                "source": "dataset",
                "dataset": lab.dataset.slug,
                "query": "_agg=sum(kwh)&_bucket=month",
                "baseline": 9000,
                "target": 7000,
            },
            headers=lab.h["researcher"],
        ),
        201,
    )
    evaluating = helpers.evaluating(client, lab, domain="city_development")
    pages = {
        "/lab": None,
        "/ideas": None,
        "/ideas?state=evaluating&domain=city_development&sort=support": None,
        "/ideas/new": "citizen",
        f"/ideas/{p['idea_id']}": "coordinator",
        f"/ideas/{evaluating['id']}": "coordinator",
        f"/ideas/{evaluating['id']}/evaluate": "evaluator0",
        "/calls": None,
        "/calls/new": "coordinator",
        f"/calls/{call['id']}": None,
        "/lab/desk": "coordinator",
        "/pilots": None,
        f"/pilots/{p['id']}": "researcher",
        f"/pilots/{p['id']}/kpis/new": "researcher",
        f"/pilots/{p['id']}/kpis/{kpi['id']}": None,
        f"/pilots/{p['id']}/data-requests/new": "researcher",
        "/portfolio": None,
        "/portfolio?status=running&sdg=7": None,
    }
    for lang, codes in (("nb", CODES_NB), ("en", CODES_EN)):
        for path, who in pages.items():
            headers = {"Accept-Language": lang, **(lab.h[who] if who else {})}
            r = client.get(path, headers=headers)
            assert r.status_code == 200, (path, r.text[:500])
            found = codes.findall(visible(r.text))
            assert found == [], (lang, path, found)
            if lang == "nb":  # no registered code or English label anywhere on the page
                assert english_leaks(r.text) == [], (path, english_leaks(r.text))
            assert f'<html lang="{lang}">' in r.text
    nb = client.get(f"/pilots/{p['id']}", headers={"Accept-Language": "nb"}).text
    assert "Bærekraftsmål" in nb or "Mål 7" in nb
    assert "Avtale" in nb and "Gjelder" in nb  # the agreement, in words
    en = client.get(f"/ideas/{evaluating['id']}", headers={"Accept-Language": "en"}).text
    assert "Being evaluated" in en and "City development" in en


def test_the_journey_through_the_forms(client: TestClient, session: Session, lab: Lab) -> None:
    upload(client, lab)
    token = helpers.csrf(client)
    citizen = lab.h["citizen"]

    # an empty idea form answers 422 with the problems named in words, storing nothing
    r = client.post("/ideas/new", data={"csrf_token": token}, headers=citizen)
    assert r.status_code == 422 and "Fyll ut dette" in r.text and 'href="#title"' in r.text
    form = {
        "csrf_token": token,
        "title": "Sensorer i søppeldunkene",
        "problem": "Bilene tømmer halvtomme dunker; det koster penger og CO₂.",
        "solution": "Fyllingsgradssensorer og ruter som følger dem.",
        "submitter_kind": "startup",
        "domain": "municipal_services",
        "place": "tistedal",
        "sdgs": ["11", "12"],
        "datasets": [lab.dataset.slug],
    }
    r = client.post("/ideas/new", data=form, headers=citizen, follow_redirects=False)
    assert r.status_code == 303, r.text
    iid = r.headers["location"].split("/")[2].split("?")[0]
    idea = session.get(Idea, uuid.UUID(iid))
    assert idea is not None and idea.sdgs == [11, 12] and idea.place == "tistedal"

    # support, comment, report and hide a comment
    sup = lab.h["supporter0"]
    assert client.post(f"/ideas/{iid}/support", data={"csrf_token": token}, headers=sup,
                       follow_redirects=False).status_code == 303  # fmt: skip
    r = client.post(f"/ideas/{iid}/support", data={"csrf_token": token}, headers=sup)
    assert r.status_code == 409 and "Du støtter allerede" in r.text
    r = client.post(
        f"/ideas/{iid}/comments",
        data={"csrf_token": token, "body": "Flott idé! Men hva med personvernet?"},
        headers=sup,
        follow_redirects=False,
    )
    assert r.status_code == 303
    comment = session.query(Comment).filter_by(idea_id=idea.id).one()
    client.post(f"/comments/{comment.id}/flag", data={"csrf_token": token}, headers=citizen)
    desk = client.get("/lab/desk", headers=lab.h["coordinator"])
    assert "Flott idé" in desk.text
    r = client.post(
        f"/comments/{comment.id}/moderate",
        data={
            "csrf_token": token,
            "action": "hide",
            "reason": "Test av moderering",
            "next": "desk",
        },
        headers=lab.h["coordinator"],
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/lab/desk")
    session.refresh(comment)
    assert comment.status == CommentStatus.hidden
    public = client.get(f"/ideas/{iid}").text
    assert "Test av moderering" in public and "Flott idé" not in public

    # screening (the privacy check) and evaluation through the forms
    coord = lab.h["coordinator"]
    client.post(f"/ideas/{iid}/screen", data={"csrf_token": token}, headers=coord)
    r = client.post(
        f"/ideas/{iid}/screening",
        data={"csrf_token": token, "personal_data": "false", "note": "ok",
              "evaluator_ids": [str(lab.evaluators[0].id)]},
        headers=coord,
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303, r.text
    form = {"csrf_token": token, "comment": "Godt forslag."}
    form |= {f"score_{c}": str(s) for c, s in helpers.SCORES.items()}
    missing = {k: v for k, v in form.items() if k != "score_impact"}
    r = client.post(f"/ideas/{iid}/evaluate", data=missing, headers=lab.h["evaluator0"])
    assert r.status_code == 422 and "gi poeng for hvert kriterium" in r.text
    r = client.post(
        f"/ideas/{iid}/evaluate", data=form, headers=lab.h["evaluator0"], follow_redirects=False
    )
    assert r.status_code == 303
    r = client.post(
        f"/ideas/{iid}/decide",
        data={"csrf_token": token, "decision": "accept", "answer": "Vi prøver det i Tistedal."},
        headers=coord,
        follow_redirects=False,
    )
    assert r.status_code == 303
    session.refresh(idea)
    assert idea.state == IdeaState.accepted

    # the pilot form, then the pilot page's forms
    r = client.post(
        "/pilots/new",
        data={"csrf_token": token, "idea_id": iid, "title": "Smart avfallstømming",
              "purpose": "ImprovePublicServices", "exploration_starts_on": today().isoformat(),
              "exploration_ends_on": (today() + timedelta(days=30)).isoformat()},
        headers=coord,
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303, r.text
    pid = r.headers["location"].rsplit("/", 1)[1]
    pilot = session.get(Pilot, uuid.UUID(pid))
    assert pilot is not None and pilot.title == "Smart avfallstømming"
    lead = lab.h["citizen"]  # the submitter leads unless told otherwise
    r = client.post(
        f"/pilots/{pid}/members",
        data={"csrf_token": token, "email": lab.researcher.email, "role": "Dataanalytiker"},
        headers=lead,
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = client.post(f"/pilots/{pid}/resources", data={"csrf_token": token, "kind": "infrastructure",
                    "description": "40 sensorer", "amount": "40 stk"}, headers=lead,
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    r = client.post(
        f"/pilots/{pid}/phases",
        data={"csrf_token": token, "phase": "exploration", "starts_on": "2026-05-01",
              "ends_on": "2026-04-01"},
        headers=lead,
    )  # fmt: skip
    assert r.status_code == 422 and "fase slutter" in r.text
    r = client.post(
        f"/pilots/{pid}/kpis/new",
        data={"csrf_token": token, "name": "Tømminger", "unit": "per uke",
              "direction": "decrease", "source": "manual", "target": "30"},
        headers=lead,
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303, r.text
    kpi_url = r.headers["location"]
    r = client.post(kpi_url + "/values", data={"csrf_token": token, "period": "2026-01-05",
                    "value": "45,5,1"}, headers=lead)  # fmt: skip
    assert r.status_code == 422 and "Skriv et tall" in r.text
    # as the page writes numbers in bokmål: a decimal comma, a space between thousands
    r = client.post(kpi_url + "/values", data={"csrf_token": token, "period": "2026-01-05",
                    "value": "45,5"}, headers=lead, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    r = client.post(kpi_url + "/values", data={"csrf_token": token, "period": "2026-01-12",
                    "value": "1\u00a0045.25"}, headers=lead, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    values = client.get(kpi_url.replace("/pilots/", "/api/v1/pilots/"), headers=lead).json()
    assert sorted(v["value"] for v in values["values"]) == [45.5, 1045.25], values
    page = client.get(kpi_url).text
    assert "45,5" in page and "<svg" in page and "<table>" in page

    # the data request form: with the pilot's purpose, through the marketplace
    r = client.post(
        f"/pilots/{pid}/data-requests/new",
        data={"csrf_token": token, "offer_id": str(lab.offer.id),
              "description": "Energibruk i byggene langs rutene.",
              "period_start": today().isoformat(),
              "period_end": (today() + timedelta(days=60)).isoformat()},
        headers=lab.h["researcher"],
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303, r.text
    page = client.get(f"/pilots/{pid}", headers={"Accept-Language": "nb"}).text
    assert "Venter på dataeieren" in page

    # a report through the page's upload form, then the final evaluation
    r = client.post(
        f"/pilots/{pid}/reports",
        data={"csrf_token": token, "title": "Sluttrapport"},
        files={"file": ("rapport.txt", "Rapport om tømming – æøå".encode())},
        headers=lead,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    r = client.post(
        f"/pilots/{pid}/result",
        data={"csrf_token": token, "outcome": "iterate",
              "summary": "Færre tømminger, men sensorene må tåle frost."},
        headers=coord,
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303
    page = client.get(f"/pilots/{pid}", headers={"Accept-Language": "nb"}).text
    assert "Gjenta og forbedre" in page and "Sluttrapport" in page and "Avsluttet" in page
    assert re.search(r"\(rapport\.txt, \d+,\d kB\)", page)  # a decimal comma, not "0.0"


@pytest.mark.parametrize("path", ["/ideas/new", "/calls/new"])
def test_forms_need_a_signed_in_person(client: TestClient, path: str) -> None:
    # a visitor is sent to sign in, and back to the form afterwards
    r = client.get(path, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=" + path.replace("/", "%2F")


def test_a_form_without_its_csrf_token_is_refused(client: TestClient, lab: Lab) -> None:
    idea = helpers.submitted(client, lab)
    r = client.post(f"/ideas/{idea['id']}/support", headers=lab.h["supporter0"])
    assert r.status_code == 403
    assert client.get(f"/api/v1/ideas/{idea['id']}").json()["support_count"] == 0


def test_a_call_with_its_weights_through_the_form(client: TestClient, lab: Lab) -> None:
    token = helpers.csrf(client)
    form = client.get("/calls/new", headers=lab.h["coordinator"]).text
    assert 'value="25"' in form  # the default weights are filled in
    body = {
        "csrf_token": token,
        "title": "Trygg by",
        "theme": "Beredskap",
        "opens_on": today().isoformat(),
        "closes_on": (today() + timedelta(days=20)).isoformat(),
        "domains": ["emergency_preparedness", "health"],
        "weight_impact": "40",
        "weight_feasibility": "20",
        "weight_sustainability": "10",
        "weight_citizen_involvement": "10",
        "weight_data_availability": "10",
        "weight_privacy_risk": "10",
    }
    r = client.post("/calls/new", data=dict(body, weight_impact="41"), headers=lab.h["coordinator"])
    assert r.status_code == 422 and "100" in r.text and 'href="#weights"' in r.text
    r = client.post("/calls/new", data=body, headers=lab.h["coordinator"], follow_redirects=False)
    assert r.status_code == 303, r.text
    call = client.get("/api/v1" + r.headers["location"]).json()
    assert {w["criterion"]: w["weight"] for w in call["weights"]}["impact"] == 40
    assert [d["code"] for d in call["domains"]] == ["emergency_preparedness", "health"]
