"""Form errors in words: each names the field by its label and says what to do.

Errors come from pydantic (``exc.errors()``: ``loc``, ``type``, ``ctx``) or from a domain's
``Invalid(errors=[{"field", "code", "params", "message"}])``. ``explain`` turns both into
``FieldError`` for the page: the field's id (to link and to show next to the input), the label
the form shows for it, and a sentence from the label registry (kind ``form_error``) in the
reader's language. An error without a known code gets "Check {field} and try again" — never
the English message, which is for API clients.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from datatorg.web import labels
from datatorg.web.i18n import gettext as _


@dataclass(frozen=True)
class FieldError:
    field: str  # the input's name (and id), "" for the form as a whole
    label: str  # what the form calls it
    text: str  # what is wrong and what to do

    @property
    def anchor(self) -> str:
        return f"#{self.field}" if self.field else "#main"


def _field_of(err: Mapping[str, Any]) -> str:
    if "field" in err and err["field"] is not None:
        return str(err["field"])
    loc = [str(p) for p in err.get("loc", ()) if not isinstance(p, int)]
    if loc and loc[0] in ("body", "query", "path", "form"):
        loc = loc[1:]
    return loc[0] if loc else ""


def _params(err: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for source in (err.get("ctx") or {}, err.get("params") or {}):
        for key, value in source.items():
            if isinstance(value, (str, int, float)):
                out[key] = value
            elif isinstance(value, (list, tuple)):
                out[key] = ", ".join(str(v) for v in value)
            else:
                out[key] = str(value)
    return out


def explain(
    errors: Iterable[Mapping[str, Any]], field_labels: Mapping[str, str]
) -> list[FieldError]:
    """The errors as sentences; ``field_labels`` maps input names to the labels the form shows."""
    out: list[FieldError] = []
    for err in errors:
        name = _field_of(err)
        shown = field_labels.get(name) or (_("the form") if not name else name)
        params = _params(err) | {"field": shown}
        code = err.get("code") or err.get("type") or "invalid"
        text = labels.explain("form_error", code, **params)
        if text is None:
            text = labels.label("form_error", "invalid", **params)
        if text[:1].islower():
            text = text[:1].upper() + text[1:]
        # a label that is a question ends the sentence itself: "Fill in What for?", no "?."
        text = re.sub(r"([?!])\.(?=\s|$)", r"\1", text)
        if all(e.field != name or e.text != text for e in out):
            out.append(FieldError(field=name, label=shown, text=text))
    return out


def by_field(errors: Iterable[FieldError]) -> dict[str, list[str]]:
    """The sentences of each field, to show next to its input."""
    found: dict[str, list[str]] = {}
    for e in errors:
        found.setdefault(e.field, []).append(e.text)
    return found
