"""Norwegian text matching: every text search in the app finds Norwegian names in any letter
case, the same on SQLite and PostgreSQL (the suite runs on both); slugs come from titles."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from datatorg.catalog import slugs
from datatorg.db.text import fold, fold_text
from datatorg.demo import world
from datatorg.identity.models import Role
from datatorg.pilots.models import Idea, Pilot
from datatorg.settings import Settings
from tests.factories import make_org, make_token, make_user

SRC = Path(__file__).parent.parent / "src" / "datatorg"
LETTERS = "ABCXYZ ÆØÅ æøå ÄÖÜ ÉÈÊË Ñ Ç Ð Þ Œ Ł Ž Š Č Ř Ő Ű ΑΒΓΔ Ω АБВГДЖ ЯЁ ÀÁÂÃ ÌÍÎÏ ÒÓÔÕ ÙÚÛ Ý İ"


def variants(name: str) -> list[str]:
    """The name as written, in lower case, in upper case, and in alternating case."""
    alternating = "".join(c.upper() if i % 2 else c.lower() for i, c in enumerate(name))
    return list(dict.fromkeys([name, name.lower(), name.upper(), alternating]))


def test_fold_is_the_same_in_python_and_in_the_database(session: Session) -> None:
    got = session.execute(select(fold(text(":s"))), {"s": LETTERS}).scalar()
    assert got == fold_text(LETTERS)
    assert fold_text("HØGSKOLEN I ØSTFOLD") == "høgskolen i østfold"
    assert session.execute(select(fold(text(":s"))), {"s": None}).scalar() is None


@pytest.fixture
def demo(session: Session, settings: Settings) -> None:
    world.load(session=session, settings=settings, small=True)


def _total(client: TestClient, path: str, key: str = "total", **kw: object) -> int:
    r = client.get(path, **kw)  # type: ignore[arg-type]
    assert r.status_code == 200, (path, r.text[:300])
    body = r.json()
    for part in key.split("."):
        body = body[part]
    return int(body) if not isinstance(body, list) else len(body)


def test_every_text_search_finds_norwegian_names_in_any_case(
    client: TestClient, session: Session, demo: None
) -> None:
    idea = session.scalar(select(Idea.title).where(Idea.title.like("%ø%")))
    pilot = session.scalar(select(Pilot.title).where(Pilot.title.like("%ø%")))
    assert idea and pilot
    steward = make_token(session, make_user(session, org=make_org(session)))
    searches: list[tuple[str, str, str, str, dict[str, object]]] = [
        # (what, written, path with {q}, where the count is, request options)
        ("register: recipient", "Høgskolen i Østfold", "/register.json?q={q}", "total", {}),
        ("register: recipient", "Østfold", "/register.json?q={q}", "total", {}),
        ("register: dataset", "Smartmålere", "/register.json?q={q}", "total", {}),
        (
            "register: purpose (bokmål)",
            "Vitenskapelig forskning",
            "/register.json?q={q}",
            "total",
            {},
        ),
        ("catalog search", "Smartmålere", "/api/v1/datasets?q={q}", "total", {}),
        ("catalog search", "Elevundersøkelsen", "/api/v1/datasets?q={q}", "total", {}),
        ("catalog search", "Støymålinger", "/api/v1/datasets?q={q}", "total", {}),
        (
            "CKAN package_search",
            "Værdata",
            "/api/3/action/package_search?q={q}",
            "result.count",
            {},
        ),
        ("CKAN tag_list", "svevestøv", "/api/3/action/tag_list?query={q}", "result", {}),
        ("living lab: ideas", idea, "/api/v1/ideas?q={q}", "total", {}),
        ("living lab: pilots", pilot, "/api/v1/pilots?q={q}", "total", {"headers": steward}),
        (
            "rows: contains",
            "Brødløs",
            "/api/v1/datasets/luftkvalitet-halden/rows?stationName__contains={q}&_count=1&_size=0",
            "count",
            {},
        ),
        (
            "rows: _search",
            "Brødløs",
            "/api/v1/datasets/luftkvalitet-halden/rows?_search={q}&_count=1&_size=0",
            "count",
            {},
        ),
    ]
    for what, written, path, key, kw in searches:
        counts = {v: _total(client, path.format(q=v), key, **kw) for v in variants(written)}
        assert len(set(counts.values())) == 1, (what, counts)
        assert next(iter(counts.values())) > 0, (what, written)


def test_no_case_insensitive_comparison_bypasses_the_fold() -> None:
    """SQL ``lower()`` folds only ASCII on SQLite: text searches use ``db.text`` instead."""
    offenders = []
    for path in SRC.rglob("*.py"):
        if path.name == "text.py" and path.parent.name == "db":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if re.search(r"func\.lower\(|\.ilike\(|\blower\([A-Za-z_.]+\)\s*LIKE", line):
                offenders.append(f"{path.relative_to(SRC)}:{n}: {line.strip()}")
    assert offenders == []


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Smartmålere i husholdninger", "smartmalere-i-husholdninger"),
        ("Ærlige Æser på Øya", "aerlige-aeser-pa-oya"),
        ("Café Ørje – 2024/25!", "cafe-orje-2024-25"),
        ("«»", "dataset"),
    ],
)
def test_slugs_from_titles(title: str, slug: str) -> None:
    assert slugs.slugify(title) == slug


def test_a_dataset_made_without_a_slug_gets_one_from_its_title(
    client: TestClient, session: Session
) -> None:
    org = make_org(session)
    headers = make_token(session, make_user(session, org=org, roles=(Role.publisher,)))
    made = [
        client.post(
            "/api/v1/datasets", json={"title_nb": "Søppeltømming på Sauøy"}, headers=headers
        )
        for _ in range(2)
    ]
    assert [r.status_code for r in made] == [201, 201], made[0].text
    assert [r.json()["slug"] for r in made] == [
        "soppeltomming-pa-sauoy",
        "soppeltomming-pa-sauoy-2",
    ]
