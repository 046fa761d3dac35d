"""Every user-facing string in the source has a Norwegian (bokmål) translation."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).parent.parent
PO = ROOT / "src/datatorg/web/locale/nb/LC_MESSAGES/messages.po"
METHODS = [("**.py", "python"), ("**.html", "jinja2.ext:babel_extract")]


def test_every_message_is_translated_to_bokmal() -> None:
    with PO.open("rb") as fh:
        catalog = read_po(fh, locale="nb")
    found = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(ROOT / "src"), METHODS, options_map={"**.html": {"extensions": "jinja2.ext.i18n"}}
    ):
        found.add(message if isinstance(message, str) else message[0])
    missing = sorted(m for m in found if not (catalog.get(m) and catalog.get(m).string))
    assert missing == [], "untranslated (run `make messages`, then translate): " + repr(missing)
