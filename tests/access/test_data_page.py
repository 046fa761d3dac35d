"""The data page: preview, filters mapped to the API, statistics, SVG charts with tables."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.access.test_rows_api import _csv
from tests.lake.helpers import make_dataset, publisher, upload


def test_data_page_shows_preview_api_link_stats_and_charts(
    client: TestClient, session: Session
) -> None:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    assert upload(client, ds, headers, _csv().replace(b"=cmd", b"cmd")).status_code == 201
    resp = client.get(f"/datasets/{ds.slug}/data?_fc=station&_fo=exact&_fv=Tistedal&_sort=no2")
    assert resp.status_code == 200, resp.text
    html = resp.text
    api = html.split("api-link")[1][:300]
    assert f"/api/v1/datasets/{ds.slug}/rows?_sort=no2&amp;station=Tistedal&amp;_size=25" in api, (
        api
    )
    assert "<td>Tistedal</td>" in html and "<td>Sentrum</td>" not in html.split("stats-h")[0]
    # time series and grouped bars, each drawn for wide screens and for phones
    assert html.count('<svg class="chart chart-wide"') == 2
    assert html.count('<svg class="chart chart-narrow"') == 2
    assert '<title id="chart-timew-t">' in html and '<title id="chart-timen-t">' in html
    assert html.count("<details>") == 2  # each chart has its table
    assert 'class="histogram"' in html
    # works without JavaScript: the only scripts are the site's optional enhancements
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/site.js" defer>']


def test_data_page_stats_api_twin(client: TestClient, session: Session) -> None:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    upload(client, ds, headers, b"a,b\n1,x\n2,\n3,x\n")
    body = client.get(f"/api/v1/datasets/{ds.slug}/stats").json()
    assert body["rows"] == 3
    a, b = body["columns"]
    assert (a["min"], a["max"], a["nulls"]) == (1, 3, 0)
    assert (b["nulls"], b["distinct"]) == (1, 1)
    assert sum(a["histogram"]) == 3


def test_data_page_bad_filter_shows_error_not_crash(client: TestClient, session: Session) -> None:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    upload(client, ds, headers, b"a\n1\n")
    resp = client.get(f"/datasets/{ds.slug}/data?a__gt=abc", headers={"Accept-Language": "nb"})
    assert resp.status_code == 200
    # said in words, with the column, the condition and the value named; never the engine's
    # English, nor the API's code for the filter (a__gt)
    alert = resp.text.split('role="alert">', 1)[1].split("</div>", 1)[0]
    assert "Disse radene kan ikke vises" in alert
    assert " ".join(alert.split()).endswith(
        'Filteret som ikke kunne brukes: <span translate="no">a</span> er større enn'
        ' <q translate="no">abc</q>.</p>'
    ), alert
    assert "a__gt" not in alert and "is not a valid integer" not in resp.text
    form = resp.text.split('class="filter-form"', 1)[1].split("</form>", 1)[0]
    assert '<option value="gt" selected' in form and 'name="a__gt"' not in form
    # a parameter that is no filter of a column is still named by its code
    resp = client.get(f"/datasets/{ds.slug}/data?nope__gt=abc")
    assert '<code translate="no">nope__gt</code>' in resp.text


def test_a_bad_filter_from_the_form_stays_in_the_form(client: TestClient, session: Session) -> None:
    """After the error the form still holds the column, the condition and the value typed,
    to be put right; the refused filter is not carried on as one of the page's filters."""
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    upload(client, ds, headers, b"a,b\n1,x\n")
    resp = client.get(
        f"/datasets/{ds.slug}/data?b=x&_fc=a&_fo=gt&_fv=abc", headers={"Accept-Language": "nb"}
    )
    assert resp.status_code == 200 and "Disse radene kan ikke vises" in resp.text
    form = resp.text.split('class="filter-form"', 1)[1].split("</form>", 1)[0]
    assert '<option value="a" selected' in form and '<option value="gt" selected' in form
    assert 'name="_fv" maxlength="200" value="abc"' in form
    assert '<input type="hidden" name="b" value="x">' in form
    assert 'name="a__gt"' not in form
    # without an error the form starts empty
    ok = client.get(f"/datasets/{ds.slug}/data?_fc=a&_fo=gt&_fv=0").text
    form = ok.split('class="filter-form"', 1)[1].split("</form>", 1)[0]
    assert " selected" not in form and 'value="0"' not in form.split('name="_fv"')[1]


def test_data_page_of_empty_and_unknown_dataset(client: TestClient, session: Session) -> None:
    org, _ = publisher(session)
    ds = make_dataset(session, org)
    assert client.get(f"/datasets/{ds.slug}/data").status_code == 200
    assert client.get("/datasets/nope/data").status_code == 404
