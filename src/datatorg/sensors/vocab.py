"""NGSI-LD names the sensor domain uses (ETSI GS CIM 009): core terms and their IRIs."""

from __future__ import annotations

CORE = "https://uri.etsi.org/ngsi-ld/"
DEFAULT_VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"
CORE_CONTEXT_URL = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
SDM = "https://smartdatamodels.org/"

LOCATION = CORE + "location"
OBSERVATION_SPACE = CORE + "observationSpace"
OPERATION_SPACE = CORE + "operationSpace"
GEO_PROPERTIES = (LOCATION, OBSERVATION_SPACE, OPERATION_SPACE)

# How the ingest counters' outcomes read on pages (labels are translated there).
CHANNELS = ("http", "mqtt", "ngsi")
