"""Words for the catalog's codes: access, classification, status, themes, frequencies,
licences, column types and data categories (see ``datatorg.web.labels``)."""

from __future__ import annotations

from datatorg.catalog.models import AccessRights, Classification, DatasetStatus
from datatorg.catalog.vocab import DATA_CATEGORIES, FREQUENCIES, LICENCES, THEMES
from datatorg.web.labels import register, register_enum

register_enum(
    "access_rights",
    AccessRights,
    {
        AccessRights.public: ("Offentlig", "Public"),
        AccessRights.restricted: ("Begrenset tilgang", "Restricted access"),
        AccessRights.non_public: ("Ikke offentlig", "Non-public"),
    },
)
register_enum(
    "classification",
    Classification,
    {
        Classification.open: ("Åpen", "Open"),
        Classification.internal: ("Intern", "Internal"),
        Classification.restricted: ("Begrenset", "Restricted"),
        Classification.personal: ("Personopplysninger", "Personal data"),
        Classification.confidential: ("Fortrolig", "Confidential"),
    },
)
register_enum(
    "dataset_status",
    DatasetStatus,
    {
        DatasetStatus.draft: ("Utkast", "Draft"),
        DatasetStatus.published: ("Publisert", "Published"),
        DatasetStatus.retired: ("Trukket tilbake", "Retired"),
    },
)
register("theme", {code: (t.nb, t.en) for code, t in THEMES.items()})
register("frequency", {code: (t.nb, t.en) for code, t in FREQUENCIES.items()})
register("licence", {code: (lic.title_nb, lic.title_en) for code, lic in LICENCES.items()})
register("data_category", {code: (t.nb, t.en) for code, t in DATA_CATEGORIES.items()})

# Table Schema types of columns
register(
    "column_type",
    {
        "string": ("Tekst", "Text"),
        "integer": ("Heltall", "Whole number"),
        "number": ("Tall", "Number"),
        "boolean": ("Ja/nei", "Yes/no"),
        "date": ("Dato", "Date"),
        "datetime": ("Dato og klokkeslett", "Date and time"),
        "time": ("Klokkeslett", "Time of day"),
        "year": ("Årstall", "Year"),
        "yearmonth": ("År og måned", "Year and month"),
        "duration": ("Varighet", "Duration"),
        "geopoint": ("Punkt (koordinater)", "Point (coordinates)"),
        "geojson": ("Geometri (GeoJSON)", "Geometry (GeoJSON)"),
        "object": ("Objekt", "Object"),
        "array": ("Liste", "List"),
        "any": ("Blandet", "Mixed"),
        "unsupported": ("Ukjent type", "Unknown type"),
    },
)
