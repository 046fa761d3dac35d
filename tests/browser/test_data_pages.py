"""Upload, preview, statistics and charts in Chromium: with and without JavaScript, axe-clean."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from datatorg.catalog.models import Dataset, DatasetStatus
from datatorg.identity import service as identity
from datatorg.identity.models import Role
from tests.live import LiveServer, axe_violations

pytestmark = pytest.mark.browser

CSV = (
    "\n".join(
        ["tid;stasjon;no2"]
        + [
            f"2024-01-{1 + h // 24:02d} {h % 24:02d}:00:00;{s};{h % 17 + i},5"
            for h in range(72)
            for i, s in enumerate(["Sentrum", "Tistedal", "Brødløs"])
        ]
    )
    + "\n"
)


def _setup(live: LiveServer) -> tuple[str, dict[str, str]]:
    def make(session: Session) -> tuple[str, str]:
        n = uuid.uuid4().hex[:8]
        org = identity.create_organisation(session=session, slug=f"b-{n}", name="Browser org")
        user = identity.create_user(
            session=session, email=f"p{n}@example.no", display_name="P", password="pw-123456789"
        )
        identity.add_membership(session=session, user=user, organisation=org, role=Role.publisher)
        ds = Dataset(
            slug=f"luft-{n}", title_nb="Luft", publisher_id=org.id, status=DatasetStatus.published
        )
        session.add(ds)
        token, _ = identity.create_token(session=session, user=user, name="browser")
        return ds.slug, token

    slug, token = live.with_session(make)
    return slug, {"Authorization": f"Bearer {token}"}


def _upload(page: Any, live: LiveServer, slug: str, tmp_path: Path, axe: bool) -> None:
    """Upload through the form; axe needs JavaScript, so it runs only in the JS variant."""
    path = tmp_path / "målinger.csv"
    path.write_bytes(CSV.encode("cp1252"))
    page.goto(f"{live.url}/datasets/{slug}/upload")
    assert not axe or axe_violations(page) == []
    page.set_input_files("#file", str(path))
    page.get_by_role("button", name="Last opp og kontroller").click()
    page.wait_for_url(f"**/datasets/{slug}/uploads/*")
    assert "Windows-1252" in page.content()
    assert not axe or axe_violations(page) == []
    page.get_by_label("Enheten til no2").fill("µg/m³")
    page.get_by_role("button", name="Publiser som ny versjon").click()
    page.wait_for_url(f"**/datasets/{slug}/data?published=1")
    assert "Versjon 1 er publisert" in page.content()


@pytest.mark.parametrize("javascript", [True, False])
def test_upload_and_explore(
    browser: Any, live_server: LiveServer, tmp_path: Path, javascript: bool
) -> None:
    slug, headers = _setup(live_server)
    context = browser.new_context(
        locale="nb-NO", extra_http_headers=headers, java_script_enabled=javascript
    )
    try:
        page = context.new_page()
        _upload(page, live_server, slug, tmp_path, axe=javascript)
        assert page.locator("svg.chart.chart-wide").count() == 2
        assert not javascript or axe_violations(page) == []
        page.get_by_role("link", name="no2").first.click()  # sort by the column
        assert "_sort=no2" in page.url
        api = page.locator(".api-link a").get_attribute("href")
        assert api is not None and "_sort=no2" in api
        page.select_option("#f-col", "stasjon")
        page.fill("#f-val", "Brødløs")
        page.get_by_role("button", name="Filtrer").click()
        cells = page.locator(".data-table tbody tr td:nth-child(2)").all_inner_texts()
        assert set(cells[:25]) == {"Brødløs"}
        assert "stasjon=Br%C3%B8dl%C3%B8s" in (
            page.locator(".api-link a").get_attribute("href") or ""
        )
    finally:
        context.close()


def test_data_page_is_axe_clean_for_the_public(
    browser: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    slug, headers = _setup(live_server)
    context = browser.new_context(locale="en-GB", extra_http_headers=headers)
    page = context.new_page()
    _upload_en = tmp_path / "x.csv"
    _upload_en.write_text("a,b\n1,x\n2,y\n")
    page.goto(f"{live_server.url}/datasets/{slug}/upload")
    page.set_input_files("#file", str(_upload_en))
    page.locator("#upload-form button[type=submit]").click()
    page.wait_for_url("**/uploads/*")
    page.locator("form[action$='/publish'] button").click()
    page.wait_for_url("**/data?published=1")
    context.close()
    public = browser.new_context(locale="en-GB")
    try:
        anon = public.new_page()
        anon.goto(f"{live_server.url}/datasets/{slug}/data")
        assert anon.locator(".data-table").count() >= 2
        assert axe_violations(anon) == []
        anon.set_viewport_size({"width": 360, "height": 740})
        assert anon.evaluate("document.documentElement.scrollWidth") <= 380
    finally:
        public.close()
