"""Every user-facing string in the source has a Norwegian (bokmål) translation."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).parent.parent
PO_DIR = ROOT / "src/datatorg/web/locale/nb/LC_MESSAGES"
METHODS = [("**.py", "python"), ("**.html", "jinja2.ext:babel_extract")]


def test_every_message_is_translated_to_bokmal() -> None:
    translated: dict[str, str] = {}
    for po in PO_DIR.glob("*.po"):
        with po.open("rb") as fh:
            for m in read_po(fh, locale="nb"):
                # a plural entry is keyed by its singular and needs every form translated
                key = m.id if isinstance(m.id, str) else m.id[0]
                done = m.string if isinstance(m.string, str) else all(m.string) and m.string[0]
                if key and done:
                    translated[key] = str(done)
    found = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(ROOT / "src"), METHODS, options_map={"**.html": {"extensions": "jinja2.ext.i18n"}}
    ):
        found.add(message if isinstance(message, str) else message[0])
    missing = sorted(m for m in found if not translated.get(m))
    assert missing == [], "untranslated (add them to a .po file in the nb folder): " + repr(missing)


def test_one_message_has_one_translation() -> None:
    """A msgid in two catalogs must say the same (the catalogs are merged; one would win)."""
    seen: dict[str, dict[str, str]] = {}
    for po in sorted(PO_DIR.glob("*.po")):
        with po.open("rb") as fh:
            for m in read_po(fh, locale="nb"):
                if isinstance(m.id, str) and m.id and isinstance(m.string, str) and m.string:
                    seen.setdefault(m.id, {})[po.name] = m.string
    clashes = {k: v for k, v in seen.items() if len(set(v.values())) > 1}
    assert clashes == {}, "one msgid, two translations (keep one): " + repr(clashes)
