"""Controlled vocabularies the catalog uses: EU data themes, licences, frequencies, formats,
Table Schema types and per-column data categories. Labels in bokmål and English."""

from __future__ import annotations

from dataclasses import dataclass

THEME_BASE = "http://publications.europa.eu/resource/authority/data-theme/"
FREQUENCY_BASE = "http://publications.europa.eu/resource/authority/frequency/"
FILE_TYPE_BASE = "http://publications.europa.eu/resource/authority/file-type/"
ACCESS_RIGHT_BASE = "http://publications.europa.eu/resource/authority/access-right/"
LICENCE_BASE = "http://publications.europa.eu/resource/authority/licence/"
# Norway in the EU country table: a spatial IRI every DCAT-AP-NO harvester accepts.
NORWAY_IRI = "http://publications.europa.eu/resource/authority/country/NOR"
# Controlled vocabularies DCAT-AP-NO accepts for dct:spatial: IRI prefix → scheme IRI.
SPATIAL_SCHEMES = {
    "http://publications.europa.eu/resource/authority/country/": (
        "http://publications.europa.eu/resource/authority/country"
    ),
    "http://publications.europa.eu/resource/authority/continent/": (
        "http://publications.europa.eu/resource/authority/continent"
    ),
    "http://publications.europa.eu/resource/authority/place/": (
        "http://publications.europa.eu/resource/authority/place"
    ),
    "https://sws.geonames.org/": "http://sws.geonames.org",
    "http://sws.geonames.org/": "http://sws.geonames.org",
}


@dataclass(frozen=True)
class Term:
    code: str
    nb: str
    en: str

    def label(self, locale: str) -> str:
        return self.nb if locale == "nb" else self.en


THEMES: dict[str, Term] = {
    t.code: t
    for t in [
        Term(
            "AGRI",
            "Jordbruk, fiskeri, skogbruk og mat",
            "Agriculture, fisheries, forestry and food",
        ),
        Term("ECON", "Økonomi og finans", "Economy and finance"),
        Term("EDUC", "Utdanning, kultur og sport", "Education, culture and sport"),
        Term("ENER", "Energi", "Energy"),
        Term("ENVI", "Miljø", "Environment"),
        Term("GOVE", "Forvaltning og offentlig sektor", "Government and public sector"),
        Term("HEAL", "Helse", "Health"),
        Term("INTR", "Internasjonale temaer", "International issues"),
        Term(
            "JUST",
            "Justis, rettssystem og allmenn sikkerhet",
            "Justice, legal system and public safety",
        ),
        Term("REGI", "Regioner og byer", "Regions and cities"),
        Term("SOCI", "Befolkning og samfunn", "Population and society"),
        Term("TECH", "Vitenskap og teknologi", "Science and technology"),
        Term("TRAN", "Transport", "Transport"),
    ]
}


@dataclass(frozen=True)
class Licence:
    id: str
    url: str
    eu: str  # code in the EU licence authority table ("" when it has none)
    title_nb: str
    title_en: str
    is_open: bool

    def title(self, locale: str) -> str:
        return self.title_nb if locale == "nb" else self.title_en


LICENCES: dict[str, Licence] = {
    lic.id: lic
    for lic in [
        Licence(
            "NLOD-2.0",
            "http://data.norge.no/nlod/no/2.0",
            "NLOD_2_0",
            "Norsk lisens for offentlige data (NLOD) 2.0",
            "Norwegian Licence for Open Government Data (NLOD) 2.0",
            True,
        ),
        Licence(
            "CC-BY-4.0",
            "http://creativecommons.org/licenses/by/4.0/",
            "CC_BY_4_0",
            "Creative Commons Navngivelse 4.0",
            "Creative Commons Attribution 4.0",
            True,
        ),
        Licence(
            "CC0-1.0",
            "http://creativecommons.org/publicdomain/zero/1.0/",
            "CC0",
            "Creative Commons CC0 1.0 (fri bruk)",
            "Creative Commons CC0 1.0 (public domain)",
            True,
        ),
        Licence(
            "CC-BY-SA-4.0",
            "http://creativecommons.org/licenses/by-sa/4.0/",
            "CC_BYSA_4_0",
            "Creative Commons Navngivelse-DelPåSammeVilkår 4.0",
            "Creative Commons Attribution-ShareAlike 4.0",
            True,
        ),
        Licence(
            "ODbL-1.0",
            "http://opendatacommons.org/licenses/odbl/1-0/",
            "ODBL",
            "Open Data Commons Open Database License 1.0",
            "Open Data Commons Open Database License 1.0",
            True,
        ),
        Licence(
            "agreement",
            "https://datatorg.halden.kommune.no/terms/agreement",
            "",
            "Bruk etter avtale med eier",
            "Use under an agreement with the owner",
            False,
        ),
    ]
}


def _address(url: str) -> str:
    """An address compared without its scheme, case or closing slash."""
    return url.strip().lower().removeprefix("https://").removeprefix("http://").rstrip("/")


def find_licence(ref: str) -> Licence | None:
    """The licence ``ref`` names, by its code ("NLOD-2.0") or its address (http or https,
    with or without the closing slash); None for anything else."""
    if ref in LICENCES:
        return LICENCES[ref]
    wanted = _address(ref)
    return next((lic for lic in LICENCES.values() if wanted and _address(lic.url) == wanted), None)


FREQUENCIES: dict[str, Term] = {
    t.code: t
    for t in [
        Term("CONT", "Kontinuerlig", "Continuous"),
        Term("HOURLY", "Hver time", "Hourly"),
        Term("DAILY", "Daglig", "Daily"),
        Term("WEEKLY", "Ukentlig", "Weekly"),
        Term("MONTHLY", "Månedlig", "Monthly"),
        Term("QUARTERLY", "Kvartalsvis", "Quarterly"),
        Term("ANNUAL", "Årlig", "Annual"),
        Term("IRREG", "Uregelmessig", "Irregular"),
        Term("NEVER", "Aldri", "Never"),
    ]
}

# format code → (media type, EU file-type code)
FORMATS: dict[str, tuple[str, str]] = {
    "CSV": ("text/csv", "CSV"),
    "JSON": ("application/json", "JSON"),
    "GEOJSON": ("application/geo+json", "GEOJSON"),
    "PARQUET": ("application/vnd.apache.parquet", "PARQUET"),
    "XLSX": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "XLSX"),
    "XML": ("application/xml", "XML"),
    "PDF": ("application/pdf", "PDF"),
    "API": ("application/json", "JSON"),
    "NGSI-LD": ("application/ld+json", "JSON_LD"),
}

TABLE_SCHEMA_TYPES = (
    "string",
    "number",
    "integer",
    "boolean",
    "date",
    "time",
    "datetime",
    "year",
    "yearmonth",
    "duration",
    "geopoint",
    "geojson",
    "object",
    "array",
    "any",
)

# Per-column data categories (governance): what kind of information a column holds.
DATA_CATEGORIES: dict[str, Term] = {
    t.code: t
    for t in [
        Term("none", "Ikke personopplysning", "Not personal data"),
        Term("identifier", "Direkte identifikator", "Direct identifier"),
        Term("pseudonym", "Pseudonym", "Pseudonym"),
        Term("personal", "Personopplysning", "Personal data"),
        Term("special", "Særlig kategori", "Special category"),
        Term("location", "Posisjon", "Location"),
        Term("commercial", "Forretningssensitiv", "Commercially sensitive"),
    ]
}
