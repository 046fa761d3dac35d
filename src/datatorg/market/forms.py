"""The marketplace's form handling: posted fields to schemas, field labels for errors."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from datatorg.errors import Invalid
from datatorg.web.i18n import gettext as _

M = TypeVar("M", bound=BaseModel)


def field_labels(names: dict[str, str]) -> dict[str, str]:
    """The form's field labels in the reader's language (msgids are the English labels)."""
    return {k: _(v) for k, v in names.items()}


def parse_form(model: type[M], form: FormData, *, lists: tuple[str, ...] = ()) -> M:
    """``form`` as ``model``; empty fields are left out; errors become ``Invalid`` (422)."""
    data: dict[str, Any] = {}
    for key in form:
        if key == "csrf_token":
            continue
        if key in lists:
            data[key] = [str(v) for v in form.getlist(key)]
        else:
            value = form.get(key)
            if isinstance(value, str) and value.strip() != "":
                data[key] = value
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [
            {
                "field": str(e["loc"][0]) if e["loc"] else "",
                "type": e["type"],
                "ctx": e.get("ctx") or {},
                "message": e["msg"],
            }
            for e in exc.errors()
        ]
        raise Invalid("Some fields are not valid", errors=problems) from None
