"""Words for the gate's codes: filter conditions and read channels (see
``datatorg.web.labels``)."""

from __future__ import annotations

from datatorg.web.labels import register

# The data page's filter conditions (the query URL language's operators)
register(
    "filter_op",
    {
        "exact": ("er lik", "equals"),
        "not": ("er ikke lik", "does not equal"),
        "gt": ("er større enn", "is greater than"),
        "gte": ("er minst", "is at least"),
        "lt": ("er mindre enn", "is less than"),
        "lte": ("er høyst", "is at most"),
        "in": ("er en av (skill med komma)", "is one of (separate with commas)"),
        "contains": ("inneholder", "contains"),
        "startswith": ("begynner med", "starts with"),
        "isnull": (
            "er tom (skriv 1) eller ikke tom (skriv 0)",
            "is empty (type 1) or not (type 0)",
        ),
        "between": ("er mellom (to verdier, skill med komma)", "is between (two values, comma)"),
    },
)
register(
    "read_channel",
    {
        "api": ("API", "API"),
        "preview": ("Forhåndsvisning", "Preview"),
        "stats": ("Kolonnestatistikk", "Column statistics"),
        "chart": ("Diagram", "Chart"),
        "ckan": ("CKAN-API", "CKAN API"),
        "download.csv": ("Nedlasting (CSV)", "Download (CSV)"),
        "download.json": ("Nedlasting (JSON)", "Download (JSON)"),
        "download.ndjson": ("Nedlasting (NDJSON)", "Download (NDJSON)"),
        "download.parquet": ("Nedlasting (Parquet)", "Download (Parquet)"),
        "download.xlsx": ("Nedlasting (Excel)", "Download (Excel)"),
    },
)
