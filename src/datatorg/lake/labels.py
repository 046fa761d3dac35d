"""Words for the data plane's codes: column roles, upload modes and states, file formats,
encodings (see ``datatorg.web.labels``)."""

from __future__ import annotations

from datatorg.lake.models import UploadStatus, WriteMode
from datatorg.web.labels import register, register_enum

register(
    "column_role",
    {
        "time": ("Tidspunkt for raden", "Time of the row"),
        "latitude": ("Breddegrad", "Latitude"),
        "longitude": ("Lengdegrad", "Longitude"),
        "subject_key": ("Personnøkkel (pseudonym)", "Person key (pseudonym)"),
        "direct_identifier": ("Direkte identifiserende", "Direct identifier"),
        "quasi_identifier": ("Indirekte identifiserende", "Indirect identifier"),
    },
)
register_enum(
    "write_mode",
    WriteMode,
    {
        WriteMode.replace: ("Erstatt innholdet", "Replace the contents"),
        WriteMode.append: ("Legg til rader", "Add rows"),
    },
)
register_enum(
    "upload_status",
    UploadStatus,
    {
        UploadStatus.pending: ("Venter på publisering", "Waiting to be published"),
        UploadStatus.published: ("Publisert", "Published"),
        UploadStatus.discarded: ("Forkastet", "Discarded"),
    },
)
register(
    "file_format",
    {
        "csv": ("CSV (kommaseparert tekst)", "CSV (comma-separated text)"),
        "tsv": ("TSV (tabulatorseparert tekst)", "TSV (tab-separated text)"),
        "json": ("JSON", "JSON"),
        "ndjson": ("NDJSON (ett JSON-objekt per linje)", "NDJSON (one JSON object a line)"),
        "xlsx": ("Excel-regneark", "Excel workbook"),
        "parquet": ("Parquet", "Parquet"),
    },
)
register(
    "encoding",
    {
        "utf-8": ("UTF-8", "UTF-8"),
        "utf-8-sig": ("UTF-8 (med BOM-merke først i filen)", "UTF-8 (with a byte-order mark)"),
        "windows-1252": (
            "Windows-1252 (vesteuropeisk, gjort om til UTF-8)",
            "Windows-1252 (Western European, converted to UTF-8)",
        ),
        "cp1252": (
            "Windows-1252 (vesteuropeisk, gjort om til UTF-8)",
            "Windows-1252 (Western European, converted to UTF-8)",
        ),
        "latin-1": ("Latin-1 (gjort om til UTF-8)", "Latin-1 (converted to UTF-8)"),
        "iso-8859-1": ("Latin-1 (gjort om til UTF-8)", "Latin-1 (converted to UTF-8)"),
        "ascii": ("ASCII", "ASCII"),
    },
)
