"""Norwegian bokmål and English: Babel catalogs read at start-up, the locale per request.

Catalogs live in ``web/locale/<lang>/LC_MESSAGES/*.po``: ``messages.po`` for the shell and one
file per domain (``catalog.po``, ``market.po``, …), all merged at start-up. They are compiled in
memory when the process starts, so no build step is needed.
"""

from __future__ import annotations

import contextvars
import gettext as _gettext
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES = ("nb", "en")
DEFAULT_LOCALE = "nb"
LOCALE_DIR = Path(__file__).with_name("locale")

locale_var: contextvars.ContextVar[str] = contextvars.ContextVar("locale", default=DEFAULT_LOCALE)


@cache
def translations(locale: str) -> _gettext.NullTranslations:
    """The compiled catalog for ``locale`` (source strings are English)."""
    files = sorted((LOCALE_DIR / locale / "LC_MESSAGES").glob("*.po"))
    if not files:
        return _gettext.NullTranslations()
    catalog = Catalog(locale=locale)
    for po in files:
        with po.open("rb") as fh:
            for message in read_po(fh, locale=locale):
                if message.id and message.string:
                    catalog.add(message.id, message.string)
    buf = BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return _gettext.GNUTranslations(buf)


def current_locale() -> str:
    return locale_var.get()


def gettext(message: str) -> str:
    """Translate ``message`` into the request's language."""
    return translations(locale_var.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(locale_var.get()).ngettext(singular, plural, n)


_ = gettext


def N_(message: str) -> str:
    """Mark ``message`` for translation (extracted by Babel); it is translated where shown."""
    return message


def negotiate(accept_language: str | None, cookie: str | None, default: str) -> str:
    """The locale from the switch cookie, else the best match in Accept-Language, else default."""
    if cookie in LOCALES:
        return cookie
    best: tuple[float, str] | None = None
    for part in (accept_language or "").split(","):
        piece = part.strip()
        if not piece:
            continue
        tag, _sep, params = piece.partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        primary = tag.strip().lower().split("-")[0]
        code = "nb" if primary in ("nb", "no", "nn") else primary
        if code in LOCALES and (best is None or quality > best[0]):
            best = (quality, code)
    return best[1] if best else default
