"""Plain words for every code a page could show: one registry, bokmål and English.

Every enum value, vocabulary term and error code the platform stores or answers with is
registered here under a *kind* with a Norwegian (bokmål) and an English label::

    register("agreement_state", {"active": ("Aktiv", "Active"), ...})
    register_enum("org_kind", OrgKind, {OrgKind.research: ("Forskning", "Research"), ...})

Pages never print a code: ``{{ a.state|label("agreement_state") }}`` in a template,
``label("agreement_state", a.state)`` in Python, ``choices("price_model")`` for a form's
options. Each domain registers its own kinds in a module ``datatorg/<domain>/labels.py``;
``load()`` imports every such module once (they are found by name, no list to edit).

Labels may hold ``{placeholders}``: ``label("form_error", "period_too_long", days=90)``.
``tests/test_plain_language.py`` checks that every enum member is registered and that
rendered bokmål pages show none of the registered codes or English labels.
"""

from __future__ import annotations

import enum
import importlib
import pkgutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from datatorg.web import i18n


@dataclass(frozen=True)
class Label:
    """One value's words: bokmål and English."""

    nb: str
    en: str

    def text(self, locale: str | None = None) -> str:
        return self.en if (locale or i18n.current_locale()) == "en" else self.nb


_REGISTRY: dict[str, dict[str, Label]] = {}
_ENUMS: dict[str, type[enum.Enum]] = {}
_loaded = False


def _key(value: Any) -> str:
    return str(value.value) if isinstance(value, enum.Enum) else str(value)


def register(kind: str, labels: Mapping[Any, tuple[str, str] | Label]) -> None:
    """Add (or extend) ``kind`` with ``{value: (bokmål, English)}``."""
    found = _REGISTRY.setdefault(kind, {})
    for value, words in labels.items():
        found[_key(value)] = words if isinstance(words, Label) else Label(*words)


def register_enum(
    kind: str, enum_cls: type[enum.Enum], labels: Mapping[Any, tuple[str, str] | Label]
) -> None:
    """Register every member of ``enum_cls``; a member without words is an error."""
    missing = [m.value for m in enum_cls if m not in labels and m.value not in labels]
    if missing:
        raise ValueError(f"{kind}: no words for {missing}")
    _ENUMS[kind] = enum_cls
    register(kind, labels)


def load() -> None:
    """Import every domain's ``labels`` module (once)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    import datatorg

    importlib.import_module("datatorg.web.labels_common")
    for info in pkgutil.iter_modules(datatorg.__path__):
        if not info.ispkg:
            continue
        name = f"datatorg.{info.name}.labels"
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise


def has(kind: str, value: Any) -> bool:
    load()
    return _key(value) in _REGISTRY.get(kind, {})


def label(kind: str, value: Any, locale: str | None = None, **params: Any) -> str:
    """The words for ``value`` of ``kind`` in ``locale`` (default: the request's).

    An unknown value is shown as it is: data (a name, a column) passes through untouched.
    """
    load()
    if value is None:
        return ""
    found = _REGISTRY.get(kind, {}).get(_key(value))
    if found is None:
        return _key(value)
    text = found.text(locale)
    return text.format(**params) if params else text


def words(kind: str, value: Any) -> Label:
    """The ``Label`` of ``value`` (both languages), to be said later in a reader's language
    (notifications and e-mails are written in each recipient's language)."""
    load()
    found = _REGISTRY.get(kind, {}).get(_key(value))
    return found if found is not None else Label(_key(value), _key(value))


def explain(kind: str, value: Any, locale: str | None = None, **params: Any) -> str | None:
    """Like ``label``, but None for an unknown value (the caller then says it another way)."""
    return label(kind, value, locale, **params) if has(kind, value) else None


def choices(kind: str, locale: str | None = None) -> list[tuple[str, str]]:
    """``(value, words)`` of every value of ``kind``, in registration order (form options)."""
    load()
    return [(value, words.text(locale)) for value, words in _REGISTRY.get(kind, {}).items()]


def kinds() -> dict[str, dict[str, Label]]:
    """The whole registry (read-only use: tests, docs)."""
    load()
    return _REGISTRY


def enums() -> dict[str, type[enum.Enum]]:
    """The enum classes registered with ``register_enum``, by kind."""
    load()
    return _ENUMS


def entries() -> Iterator[tuple[str, str, Label]]:
    for kind, values in kinds().items():
        for value, words in values.items():
            yield kind, value, words
