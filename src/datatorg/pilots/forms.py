"""Form helpers for the living lab's pages: parse a form into a schema, name the fields in
the error summary in words (never the field codes), render with the vocabulary at hand."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData
from starlette.responses import Response

from datatorg.errors import Invalid
from datatorg.pilots import geo
from datatorg.pilots.charts import fmt
from datatorg.pilots.vocab import N_, label, options, sdg_name
from datatorg.web.i18n import gettext as _
from datatorg.web.templating import render

M = TypeVar("M", bound=BaseModel)

FIELD_LABELS: dict[str, str] = {
    "title": N_("Title"),
    "problem": N_("The problem"),
    "solution": N_("Your proposed solution"),
    "submitter_kind": N_("Who are you?"),
    "domain": N_("Domain"),
    "place": N_("Place in Halden"),
    "sdgs": N_("Sustainable Development Goals"),
    "datasets": N_("Datasets"),
    "call_id": N_("Call for ideas"),
    "theme": N_("Theme"),
    "opens_on": N_("Opens"),
    "closes_on": N_("Closes"),
    "support_threshold": N_("Supports needed before screening"),
    "weights": N_("Weights of the criteria"),
    "body": N_("Comment"),
    "reason": N_("Reason"),
    "personal_data": N_("Does the idea need personal data?"),
    "evaluator_ids": N_("Evaluators"),
    "reference": N_("DPIA reference"),
    "answer": N_("Answer to the submitter"),
    "scores": N_("Scores"),
    "email": N_("E-mail address"),
    "organisation": N_("Organisation"),
    "starts_on": N_("Starts"),
    "ends_on": N_("Ends"),
    "description": N_("Description"),
    "offer_id": N_("Offer"),
    "period_start": N_("From"),
    "period_end": N_("To"),
    "columns": N_("Columns"),
    "name": N_("Name"),
    "unit": N_("Unit"),
    "baseline": N_("Baseline"),
    "target": N_("Target"),
    "direction": N_("Direction"),
    "sdg": N_("Goal"),
    "dataset": N_("Dataset"),
    "query": N_("Query"),
    "value": N_("Value"),
    "period": N_("Date"),
    "outcome": N_("Outcome"),
    "summary": N_("Summary"),
    "lessons": N_("Lessons learnt"),
    "file": N_("File"),
    "lead_id": N_("Pilot lead"),
    "purpose": N_("Purpose"),
}


async def form_data(request: Request) -> FormData:
    """The posted form (read once; ``verify_csrf`` has usually read it already), so that
    handlers can be plain functions that run in the thread pool."""
    return await request.form()


FormDep = Annotated[FormData, Depends(form_data)]


def field_label(field: str) -> str:
    head = field.split(".")[0]
    found = FIELD_LABELS.get(head)
    return _(found) if found else _("This form")


def friendly(error: Any) -> str:
    """A validation error in plain words, in the request's language."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return _("Fill this in.")
    if kind == "string_too_short":
        return _("Write at least {n} characters.").format(n=ctx.get("min_length", 1))
    if kind == "string_too_long":
        return _("Write at most {n} characters.").format(n=ctx.get("max_length", ""))
    if kind in ("enum", "literal_error", "uuid_parsing", "uuid_type"):
        return _("Choose one of the options.")
    if kind in ("int_parsing", "float_parsing", "int_from_float", "finite_number"):
        return _("Write a number.")
    if kind.startswith("date"):
        return _("Write a date as YYYY-MM-DD.")
    if kind in ("greater_than_equal", "greater_than"):
        return _("Must be at least {n}.").format(n=ctx.get("ge", ctx.get("gt", "")))
    if kind in ("less_than_equal", "less_than"):
        return _("Must be at most {n}.").format(n=ctx.get("le", ctx.get("lt", "")))
    if kind == "too_long":
        return _("Too many chosen.")
    if kind == "bool_parsing":
        return _("Answer yes or no.")
    if kind == "value_error":
        return str(error.get("msg", "")).removeprefix("Value error, ")
    return _("This is not valid.")


def parse_form(model: type[M], form: FormData, *, lists: tuple[str, ...] = ()) -> M:
    """``form`` as ``model``; empty fields are left out; errors become ``Invalid`` (422)."""
    data: dict[str, Any] = {}
    for key in form:
        if key == "csrf_token":
            continue
        if key in lists:
            data[key] = [str(v) for v in form.getlist(key) if str(v).strip()]
        else:
            value = form.get(key)
            if isinstance(value, str) and value.strip() != "":
                data[key] = value
    return parse_dict(model, data)


def parse_dict(model: type[M], data: dict[str, Any]) -> M:
    """``data`` as ``model``; errors become ``Invalid`` (422) in plain words."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            loc = [str(p) for p in e["loc"]]
            problems.append({"field": loc[0] if loc else "", "message": friendly(e)})
        raise Invalid(_("Some fields are not valid."), errors=problems) from None


def summary_errors(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Errors for the summary: the field's label, its anchor and the message."""
    out = []
    for e in errors:
        field = str(e.get("field") or e.get("parameter") or "")
        out.append(
            {
                "label": field_label(field),
                "anchor": field.split(".")[0] or "main",
                "message": str(e.get("message", "")),
            }
        )
    return out


def values_of(form: FormData, lists: tuple[str, ...] = ()) -> dict[str, Any]:
    return {k: form.getlist(k) if k in lists else form.get(k) for k in form if k != "csrf_token"}


def page(
    request: Request, template: str, ctx: dict[str, Any], *, status_code: int = 200
) -> Response:
    """Render a living-lab page with the vocabulary helpers."""
    base: dict[str, Any] = {
        "L": label,
        "options": options,
        "sdg_name": sdg_name,
        "fmt": fmt,
        "places": list(geo.PLACES.values()),
        "errors": [],
        "values": {},
    }
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
    base["page_base"] = request.url.path + "?" + (urlencode(params) + "&" if params else "")
    base["query"] = urlencode(params)
    base.update(ctx)
    base["errors"] = summary_errors(base["errors"])
    # each field's messages, shown next to it (``field_error``/``invalid`` in _macros.html)
    field_errors: dict[str, list[str]] = {}
    for e in base["errors"]:
        if e["anchor"] != "main" and e["message"]:
            field_errors.setdefault(e["anchor"], []).append(e["message"])
    base["field_errors"] = field_errors
    return render(request, template, base, status_code=status_code)
