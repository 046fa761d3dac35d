"""DCAT-AP-NO export: the whole demo catalog is valid under the official SHACL shapes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pyshacl import validate
from rdflib import RDF, Graph, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, SKOS

REPO = Path(__file__).resolve().parent.parent.parent
# The team's shared standards folder lies beside the repository (as in CI); a checkout kept
# elsewhere names it with DATATORG_STANDARDS.
SHAPES = Path(os.environ.get("DATATORG_STANDARDS", REPO.parent / "shared" / "standards")) / "shacl"


def _shapes(name: str) -> Graph:
    g = Graph()
    g.parse(SHAPES / name, format="turtle")
    return g


@pytest.fixture(scope="module")
def shapes() -> dict[str, Graph]:
    return {
        name: _shapes(name)
        for name in ("DCAT-AP-NO-shacl_shapes_2.00.ttl", "dcat-ap-3.0.1-SHACL.ttl")
    }


def _catalog(client: TestClient, ext: str, fmt: str) -> Graph:
    r = client.get(f"/catalog.{ext}")
    assert r.status_code == 200, r.text
    g = Graph()
    g.parse(data=r.content, format=fmt)
    return g


def test_demo_catalog_has_zero_shacl_violations(
    client: TestClient, demo: int, shapes: dict[str, Graph]
) -> None:
    assert demo >= 40
    data = _catalog(client, "ttl", "turtle")
    assert len(set(data.subjects(RDF.type, DCAT.Dataset))) >= 40
    for name, shape in shapes.items():
        conforms, _report, text = validate(
            data, shacl_graph=shape, inference="none", allow_warnings=True, advanced=True
        )
        violations = [line for line in text.splitlines() if "Severity: sh:Violation" in line]
        assert conforms and violations == [], f"{name}:\n{text[:4000]}"


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
