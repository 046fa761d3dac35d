"""List the strings in messages.po that still lack a Norwegian translation.

Run after `make messages`. Domains may instead keep their strings in their own .po file
beside messages.po (catalog.po, market.po, …); tests/test_i18n.py checks the union.
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
