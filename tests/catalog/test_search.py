"""Search: the same cases on SQLite (FTS5) and PostgreSQL (tsvector) — the suite runs twice."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.catalog import search
from datatorg.identity.models import Organisation
from tests.catalog.helpers import make_dataset
from tests.factories import make_org
from tests.statements import recorded


@pytest.fixture
def world(session: Session) -> dict[str, Organisation]:
    kommune = make_org(session, slug="kommunen-test", name="Halden kommune test")
    vendor = make_org(session, slug="sensorfirma", name="Fjordsensor test")
    make_dataset(
        session,
        kommune,
        slug="s-luft",
        title_nb="Luftkvalitet på Øra",
        title_en="Air quality at Øra",
        description_nb="Timesverdier for svevestøv og NO2 fra målestasjonene.",
        themes=["ENVI"],
        keywords_nb=["luftkvalitet", "svevestøv"],
        license="NLOD-2.0",
        distributions=[{"format": "CSV", "download_url": "https://x.no/a.csv"}],
    )
    make_dataset(
        session,
        kommune,
        slug="s-skole",
        title_nb="Skolestatistikk",
        title_en="School statistics",
        description_nb="Elevtall for skolene i Halden.",
        themes=["EDUC", "SOCI"],
        keywords_nb=["skoler"],
        license="CC-BY-4.0",
        distributions=[{"format": "JSON", "download_url": "https://x.no/b.json"}],
    )
    make_dataset(
        session,
        vendor,
        slug="s-trafikk",
        title_nb="Trafikktellinger",
        title_en="Traffic counts",
        description_nb="Tellinger av biler og syklister.",
        themes=["TRAN"],
        access_rights="RESTRICTED",
        classification="restricted",
        license="agreement",
        distributions=[{"format": "CSV", "download_url": "https://x.no/c.csv"}],
    )
    make_dataset(session, vendor, slug="s-utkast", title_nb="Luftkvalitet utkast", publish=False)
    return {"kommune": kommune, "vendor": vendor}


def _slugs(client: TestClient, **params: object) -> list[str]:
    r = client.get("/api/v1/datasets", params=params | {"per_page": 100})  # type: ignore[arg-type]
    assert r.status_code == 200, r.text
    return [i["slug"] for i in r.json()["items"] if i["slug"].startswith("s-")]


FULL_TEXT_CASES = [
    ("luftkvalitet", ["s-luft"]),
    ("LUFTKVALITETEN", ["s-luft"]),  # case and a bokmål suffix
    ("øra", ["s-luft"]),
    ("ØRA", ["s-luft"]),
    ("svevestøv", ["s-luft"]),
    ("skoler", ["s-skole"]),
    ("skolene", ["s-skole"]),
    ("skole", ["s-skole"]),
    ("school", ["s-skole"]),
    ("traffic", ["s-trafikk"]),
    ("trafikktelling", ["s-trafikk"]),
    ("air quality", ["s-luft"]),
    ("luft skole", []),
    ("Halden", ["s-luft", "s-skole"]),  # publisher name and description
    ("miljø", ["s-luft"]),  # theme label
    ("'; DROP TABLE datasets; --", []),
    ('"NEAR" OR * AND (', []),
    ("%_\\", ["s-luft", "s-skole", "s-trafikk"]),  # no words: everything
]


def test_full_text(client: TestClient, world: object) -> None:
    got = {q: sorted(_slugs(client, q=q)) for q, _expected in FULL_TEXT_CASES}
    assert got == {q: sorted(expected) for q, expected in FULL_TEXT_CASES}


def test_drafts_never_show_in_public_search(client: TestClient, world: object) -> None:
    assert "s-utkast" not in _slugs(client, q="luftkvalitet")


def test_facets_filter_and_count(client: TestClient, world: object) -> None:
    assert _slugs(client, theme="ENVI") == ["s-luft"]
    assert sorted(_slugs(client, theme=["ENVI", "TRAN"])) == ["s-luft", "s-trafikk"]
    assert _slugs(client, format="json") == ["s-skole"]
    assert _slugs(client, publisher="sensorfirma") == ["s-trafikk"]
    assert _slugs(client, access_rights="RESTRICTED") == ["s-trafikk"]
    assert _slugs(client, classification="restricted") == ["s-trafikk"]
    assert _slugs(client, license="CC-BY-4.0") == ["s-skole"]
    assert _slugs(client, keyword="svevestøv") == ["s-luft"]
    assert _slugs(client, q="halden", format="CSV") == ["s-luft"]
    page = client.get("/api/v1/datasets", params={"publisher": "kommunen-test"}).json()
    assert page["total"] == 2
    themes = {f["value"]: f["count"] for f in page["facets"]["theme"]}
    assert themes == {"ENVI": 1, "EDUC": 1, "SOCI": 1}
    pubs = page["facets"]["publisher"]
    assert pubs == [{"value": "kommunen-test", "label": "Halden kommune test", "count": 2}]
    assert {f["value"] for f in page["facets"]["format"]} == {"CSV", "JSON"}


def test_a_search_asks_for_the_publishers_once(
    client: TestClient, session: Session, world: object
) -> None:
    """The hits' publishers and the names of the publisher facet come from one query."""
    with recorded(session) as statements:
        page = client.get("/api/v1/datasets", params={"per_page": 100}).json()
    hits = {i["slug"]: i["publisher"]["name"] for i in page["items"] if i["slug"].startswith("s-")}
    assert hits == {
        "s-luft": "Halden kommune test",
        "s-skole": "Halden kommune test",
        "s-trafikk": "Fjordsensor test",
    }
    labels = {f["value"]: f["label"] for f in page["facets"]["publisher"]}
    assert labels["kommunen-test"] == "Halden kommune test"
    assert labels["sensorfirma"] == "Fjordsensor test"
    # loads of organisation rows (without the index, the facet's counts are a query too)
    asked = [s for s in statements if "FROM organisations" in s and "count(" not in s]
    assert len(asked) == 1, asked


def test_sorting_and_pagination(client: TestClient, world: object) -> None:
    assert _slugs(client, publisher=["kommunen-test", "sensorfirma"], sort="title") == [
        "s-luft",
        "s-skole",
        "s-trafikk",
    ]
    assert _slugs(client, publisher=["kommunen-test", "sensorfirma"], sort="-title") == [
        "s-trafikk",
        "s-skole",
        "s-luft",
    ]
    params = {"publisher": ["kommunen-test", "sensorfirma"], "sort": "title", "per_page": 2}
    first = client.get("/api/v1/datasets", params=params | {"page": 1}).json()
    second = client.get("/api/v1/datasets", params=params | {"page": 2}).json()
    past = client.get("/api/v1/datasets", params=params | {"page": 9}).json()
    assert [i["slug"] for i in first["items"]] == ["s-luft", "s-skole"]
    assert [i["slug"] for i in second["items"]] == ["s-trafikk"]
    assert past["items"] == [] and past["total"] == 3


def test_relevance_puts_title_hits_first(client: TestClient, world: object) -> None:
    assert _slugs(client, q="luftkvalitet skolestatistikk") == []
    assert _slugs(client, q="halden", sort="relevance")[0] in ("s-luft", "s-skole")


@pytest.mark.parametrize(
    "params",
    [{"q": "x" * 301}, {"sort": "bogus"}, {"page": 0}, {"per_page": 101}, {"page": "abc"}],
)
def test_bad_search_parameters(client: TestClient, params: dict[str, object]) -> None:
    r = client.get("/api/v1/datasets", params=params)  # type: ignore[arg-type]
    assert r.status_code == 422


def test_norwegian_sort_key_orders_ae_oe_aa_after_z() -> None:
    titles = ["Åker", "Zebra", "Ørret", "Ærfugl", "apal"]
    assert sorted(titles, key=search.sort_key) == ["apal", "Zebra", "Ærfugl", "Ørret", "Åker"]


def test_snowball_stems_meet_in_the_middle() -> None:
    assert search.stem_nb("skoler") == search.stem_nb("skolene") == search.stem_nb("skole")
    assert search.stem_nb("målinger") == search.stem_nb("måling") != search.stem_nb("mål")
    assert search.stem_nb("kvaliteten") == search.stem_nb("kvalitet")  # to a fixed point
    assert search.stem_en("buses") in ("bus", "buse") and search.stem_en("cities") == "citi"
    assert search.document(["Skolene i Halden", "skoler"], ["Schools"]) == "skol i hald school"
    assert search.query_terms("Skolene buses") == [("skol", "skolen"), ("bus", "buse")]


@pytest.fixture
def inflected(session: Session) -> None:
    """Datasets whose words the old suffix stripper got wrong."""
    org = make_org(session, slug="stemming-test", name="Stemmeprøve")
    make_dataset(session, org, slug="s-maling", title_nb="Målinger av støy", title_en="Noise")
    make_dataset(session, org, slug="s-mal", title_nb="Mål for klimakutt", title_en="Goals")
    make_dataset(
        session, org, slug="s-buss", title_nb="Holdeplasser", title_en="Stops served by buses"
    )
    make_dataset(session, org, slug="s-park", title_nb="Parker og friområder", title_en="Parks")
    make_dataset(session, org, slug="s-parkering", title_nb="Parkering", title_en="Car parks")


INFLECTION_CASES = [
    ("målinger", ["s-maling"]),  # the stripper cut both to "mål" and found the goals too
    ("måling", ["s-maling"]),
    ("mål", ["s-mal", "s-maling"]),  # a prefix still finds the longer word
    ("buses", ["s-buss"]),
    ("bus", ["s-buss"]),
    ("parkering", ["s-parkering"]),  # the stripper cut it to "park" and found the parks
    ("parker", ["s-park", "s-parkering"]),  # "car parks" in English
]


def test_inflections_meet_and_stay_apart(client: TestClient, inflected: None) -> None:
    got = {q: sorted(_slugs(client, q=q)) for q, _expected in INFLECTION_CASES}
    assert got == {q: sorted(expected) for q, expected in INFLECTION_CASES}


@pytest.mark.parametrize("sparse", [64, 1])  # title words as lists, and as bitmasks
def test_facet_index_and_sql_paths_agree(
    session: Session, demo: int, sparse: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from datatorg.catalog import facet_index, finder
    from datatorg.catalog.hits import RELATIONS, SearchHit
    from datatorg.identity.actor import ANONYMOUS

    monkeypatch.setattr(facet_index, "SPARSE", sparse)
    facet_index.clear()
    index = facet_index.get_or_build(session)

    queries = [
        finder.SearchQuery(),
        finder.SearchQuery(q="halden", sort="relevance", limit=50),
        finder.SearchQuery(q="energi strøm"),
        finder.SearchQuery(filters={"theme": ["TRAN", "ENER"], "format": ["csv"]}, sort="-title"),
        finder.SearchQuery(filters={"access_rights": ["restricted"]}, sort="modified"),
        finder.SearchQuery(filters={"publisher": ["halden-kommune"]}, sort="published", offset=5),
    ]
    for query in queries:
        fast = finder._search_index(session, query, index)
        slow = finder._search_sql(session, ANONYMOUS, query)
        assert fast.hits == slow.hits and fast.hits, query  # every column, theme and format
        whole = finder._search_sql(session, ANONYMOUS, replace(query, relations=RELATIONS))
        assert fast.hits == [SearchHit.of(d) for d in whole.datasets], query  # as a page shows
        assert fast.total == slow.total and fast.facets == slow.facets, query


def test_search_sees_writes_at_once(client: TestClient, session: Session) -> None:
    org = make_org(session, slug="ny-utgiver")
    assert _slugs(client, publisher="ny-utgiver") == []
    make_dataset(session, org, slug="s-fersk", title_nb="Fersk datasett")
    assert _slugs(client, publisher="ny-utgiver") == ["s-fersk"]
    assert _slugs(client, q="fersk") == ["s-fersk"]


def test_stemming_from_many_threads_at_once_gives_each_word_its_own_stem() -> None:
    """A Snowball stemmer keeps its word in the instance; request threads share the
    module. Threads switching every microsecond stem thousands of words the caches have not
    seen: each gets the stem it gets alone (a shared stemmer gave IndexErrors and stems of
    another thread's word)."""
    import sys
    import threading

    import snowballstemmer

    words = [
        f"{stem}{end}"
        for stem in (
            "skole",
            "måling",
            "kvalitet",
            "luft",
            "bygning",
            "vannverk",
            "sykkel",
            "parkering",
        )
        for end in ("", "er", "ene", "en", "ane", "ens", "ers", "heten", "elser", "ingene")
    ]
    alone_nb, alone_en = snowballstemmer.stemmer("norwegian"), snowballstemmer.stemmer("english")
    expected_en = {w: alone_en.stemWord(w) for w in words}
    search.stem_nb.cache_clear()
    search.stem_en.cache_clear()
    got: dict[str, str] = {}
    errors: list[BaseException] = []

    def stem(chunk: list[str]) -> None:
        try:
            for _ in range(20):
                search.stem_en.cache_clear()
                for w in chunk:
                    got[w] = search.stem_en(w)
                    search.stem_nb(w)
        except BaseException as exc:
            errors.append(exc)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=stem, args=(words[i::4],)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
        search.stem_nb.cache_clear()
        search.stem_en.cache_clear()
    assert errors == []
    assert got == expected_en
    fixed_point = {w: search.stem_nb(w) for w in words}
    assert all(alone_nb.stemWord(s) == s for s in fixed_point.values())
