"""Purposes and legal bases from the W3C Data Privacy Vocabulary (DPV 2.1), bundled as data.

The terms and IRIs are DPV's own (checked against ``dpv/purposes.csv`` of DPV 2.1); the
bokmål and English explanations are Datatorg's, written for people who request data.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).with_name("data")
DPV = "https://w3id.org/dpv#"


@dataclass(frozen=True)
class Term:
    term: str
    iri: str
    label_en: str
    label_nb: str
    explanation_en: str = ""
    explanation_nb: str = ""

    def label(self, locale: str) -> str:
        return self.label_nb if locale == "nb" else self.label_en

    def explanation(self, locale: str) -> str:
        return self.explanation_nb if locale == "nb" else self.explanation_en


def _read(name: str) -> dict[str, Term]:
    with (DATA / name).open(encoding="utf-8", newline="") as fh:
        return {row["term"]: Term(**row) for row in csv.DictReader(fh)}


@cache
def purposes() -> dict[str, Term]:
    """The purposes an offer may allow, by DPV term."""
    return _read("purposes.csv")


@cache
def legal_bases() -> dict[str, Term]:
    """The legal bases an offer may name, by DPV term."""
    return _read("legal_bases.csv")


def purpose_iri(term: str) -> str:
    return purposes()[term].iri
