"""Write the bundled Smart Data Models @contexts from the pysmartdatamodels package.

One context per subject of the demo's data models (the subset of terms those models use),
each recognised under the subject's official context URL, so clients that send it in a Link
header are served offline. `tests/sensors/test_sdm.py` checks the files match the package.

    .venv/bin/python scripts/sdm_contexts.py
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).parent.parent / "src" / "datatorg" / "sensors" / "contexts"
sys.path.insert(0, str(Path(__file__).parent.parent / "src"))

from datatorg.sensors.sdm import MODELS  # noqa: E402


def package_rows() -> list[dict[str, Any]]:
    import pysmartdatamodels

    base = Path(pysmartdatamodels.__file__).parent / "model-assets"
    rows: list[dict[str, Any]] = json.load(gzip.open(base / "smartdatamodels.json.gz"))
    return rows


def contexts() -> dict[str, dict[str, Any]]:
    """File name -> context document, for every subject of ``MODELS``."""
    rows = package_rows()
    out: dict[str, dict[str, Any]] = {}
    for model in MODELS.values():
        name = f"sdm-{model.subject.split('.')[-1].lower()}.jsonld"
        doc = out.setdefault(name, {"@context": {}, "x-aliases": [model.context_url]})
        terms = doc["@context"]
        terms[model.type_name] = model.type_iri
        for row in rows:
            if row.get("dataModel") != model.type_name or row.get("repoName") != model.subject:
                continue
            if "parentId" in row or not row.get("context"):
                continue
            iri = row["context"]
            if iri.startswith("https://uri.etsi.org/ngsi-ld/"):
                continue  # a core term (location, status, …): the core context has it
            terms[row["property"]] = iri
    for doc in out.values():
        doc["@context"] = dict(sorted(doc["@context"].items()))
    return out


def main() -> None:
    for name, doc in contexts().items():
        (OUT / name).write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {name}")


if __name__ == "__main__":
    main()
