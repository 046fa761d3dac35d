"""Merge new strings into the nb catalog: `python scripts/translate.py` after `make messages`.

Lists every msgid that still lacks a Norwegian translation, so nothing ships half-translated
(tests/test_i18n.py fails on any).
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.pofile import read_po

PO = Path(__file__).parent.parent / "src/datatorg/web/locale/nb/LC_MESSAGES/messages.po"

with PO.open("rb") as fh:
    catalog = read_po(fh)
missing = [m.id for m in catalog if m.id and not m.string]
for msgid in missing:
    print(msgid)
sys.exit(1 if missing else 0)
