"""DCAT-AP-NO export: the whole demo catalog is valid under the official SHACL shapes."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pyshacl import validate
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, SH, SKOS

# The official shapes, kept in the repository (source and licence: tests/standards/README.md).
SHAPES = Path(__file__).resolve().parent.parent / "standards" / "shacl"
SHAPE_FILES = (
    "DCAT-AP-NO-shacl_shapes_2.00.ttl",
    "dcat-ap-3.0.1-SHACL.ttl",
    "fdk-mqa-dcat-ap-no_shacl-shapes-2.0.0.ttl",
)


def _shapes(name: str) -> Graph:
    g = Graph()
    g.parse(SHAPES / name, format="turtle")
    return g


@pytest.fixture(scope="module")
def shapes() -> dict[str, Graph]:
    return {name: _shapes(name) for name in SHAPE_FILES}


def _catalog(client: TestClient, ext: str, fmt: str) -> Graph:
    r = client.get(f"/catalog.{ext}")
    assert r.status_code == 200, r.text
    g = Graph()
    g.parse(data=r.content, format=fmt)
    return g


def _results(data: Graph, shape: Graph) -> tuple[bool, list[str], str]:
    """Whether ``data`` conforms, and the severity of every result (violations, warnings,
    infos alike) under ``shape``."""
    conforms, report, text = validate(
        data, shacl_graph=shape, inference="none", allow_warnings=True, advanced=True
    )
    assert isinstance(report, Graph)
    severities = [str(s) for s in report.objects(None, SH.resultSeverity)]
    return bool(conforms), severities, str(text)


def test_demo_catalog_has_no_shacl_violations_or_warnings(
    client: TestClient, demo: int, shapes: dict[str, Graph]
) -> None:
    assert demo >= 40
    data = _catalog(client, "ttl", "turtle")
    assert len(set(data.subjects(RDF.type, DCAT.Dataset))) >= 40
    assert set(shapes) == set(SHAPE_FILES)
    for name, shape in shapes.items():
        conforms, severities, text = _results(data, shape)
        assert conforms and severities == [], f"{name}:\n{text[:4000]}"


def test_the_check_sees_warnings(shapes: dict[str, Graph]) -> None:
    """The assertion above can fail: a distribution without a licence is a warning."""
    g = Graph()
    dist = URIRef("https://testserver/dataset/x/distribution/y")
    g.add((dist, RDF.type, DCAT.Distribution))
    g.add((dist, DCAT.accessURL, URIRef("https://testserver/datasets/x")))
    g.add((dist, DCTERMS.description, Literal("Uten lisens", lang="nb")))
    for name in ("DCAT-AP-NO-shacl_shapes_2.00.ttl", "fdk-mqa-dcat-ap-no_shacl-shapes-2.0.0.ttl"):
        _conforms, severities, _text = _results(g, shapes[name])
        assert str(SH.Warning) in severities, name


def test_three_serialisations_carry_the_same_graph(client: TestClient, demo: int) -> None:
    ttl = _catalog(client, "ttl", "turtle")
    rdf = _catalog(client, "rdf", "xml")
    jsonld = _catalog(client, "jsonld", "json-ld")
    assert len(ttl) == len(rdf) == len(jsonld) > 500


def test_iris_types_and_no_blank_nodes(client: TestClient, demo: int) -> None:
    g = _catalog(client, "ttl", "turtle")
    assert all(isinstance(s, URIRef) for s in g.subjects())
    for pub in g.objects(None, DCTERMS.publisher):
        assert (pub, RDF.type, FOAF.Agent) in g
    themes = set(g.objects(None, DCAT.theme))
    assert themes and all((t, RDF.type, SKOS.Concept) in g for t in themes)
    iri = URIRef("https://data.brreg.no/enhetsregisteret/api/enheter/959159092")
    assert (iri, FOAF.name, None) in g
    assert all(
        str(d).startswith("https://testserver/dataset/") for d in g.subjects(RDF.type, DCAT.Dataset)
    )


def test_dataset_files_and_content_negotiation(client: TestClient, demo: int) -> None:
    r = client.get("/dataset/luftkvalitet-halden.ttl")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/turtle")
    assert "Luftkvalitet i Halden" in r.text
    ds_id = client.get("/api/v1/datasets/luftkvalitet-halden").json()["id"]
    r = client.get(f"/dataset/{ds_id}", headers={"accept": "application/ld+json"})
    assert r.headers["content-type"].startswith("application/ld+json")
    r = client.get(
        f"/dataset/{ds_id}", headers={"accept": "application/rdf+xml;q=0.9, text/turtle;q=0.5"}
    )
    assert r.headers["content-type"].startswith("application/rdf+xml")
    r = client.get(f"/dataset/{ds_id}", headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/datasets/luftkvalitet-halden"
    r = client.get("/catalog", headers={"accept": "text/turtle"})
    assert r.headers["content-type"].startswith("text/turtle")
    assert client.get("/catalog.exe").status_code == 404
    assert client.get("/dataset/luftkvalitet-halden.xyz").status_code == 404
    assert client.get("/dataset/no-such-thing.ttl").status_code == 404


def test_personal_dataset_exports_only_public_metadata(client: TestClient, demo: int) -> None:
    text = client.get("/dataset/smartmaler-husholdninger.ttl").text
    assert "NON_PUBLIC" in text
    assert "DPIA-2026" not in text and "art. 6(1)(a)" not in text
