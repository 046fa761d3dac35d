"""The publisher's dataset form: parse posted fields, and the context the template needs."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from datatorg.catalog.models import AccessRights, Classification, Dataset
from datatorg.catalog.present import access_label, classification_label
from datatorg.catalog.service import organisations_by_id
from datatorg.catalog.vocab import FREQUENCIES, LICENCES, THEMES
from datatorg.identity.actor import Actor
from datatorg.identity.models import Role
from datatorg.web.i18n import current_locale

TEXT_FIELDS = (
    "title_nb", "title_en", "description_nb", "description_en", "license", "access_rights",
    "classification", "frequency", "contact_name", "contact_email", "landing_page",
)  # fmt: skip
FORM_FIELDS = (*TEXT_FIELDS, "keywords_nb", "keywords_en", "themes", "has_personal_data")
MAX_FIELD = 25_000


def parse_form(form: FormData, *, create: bool) -> dict[str, Any]:
    """The posted form as the API's input shape (keywords comma-separated, themes checked)."""
    values: dict[str, Any] = {}
    names = (*TEXT_FIELDS, "slug", "publisher") if create else TEXT_FIELDS
    for name in names:
        raw = form.get(name)
        if isinstance(raw, str):
            values[name] = raw[:MAX_FIELD].replace("\r\n", "\n")
    for name in ("keywords_nb", "keywords_en"):
        raw = form.get(name)
        if isinstance(raw, str):
            values[name] = [k.strip() for k in raw[:MAX_FIELD].split(",") if k.strip()]
    values["themes"] = [t for t in form.getlist("themes") if isinstance(t, str)][:13]
    values["has_personal_data"] = form.get("has_personal_data") == "on"
    return values


def pydantic_errors(exc: ValidationError) -> list[str]:
    return [
        f"{'.'.join(str(p) for p in e['loc']) or 'form'}: {e['msg']}" for e in exc.errors()[:20]
    ]


def form_context(
    session: Session,
    actor: Actor,
    dataset: Dataset | None,
    values: dict[str, Any],
    errors: list[str],
) -> dict[str, Any]:
    loc = current_locale()
    orgs = organisations_by_id(session=session, ids=actor.org_ids(Role.publisher))
    keywords = {
        k: ", ".join(values.get(k) or []) if isinstance(values.get(k), list) else ""
        for k in ("keywords_nb", "keywords_en")
    }
    return {
        "dataset": dataset,
        "values": values,
        "keywords": keywords,
        "errors": errors,
        "orgs": sorted(orgs.values(), key=lambda o: o.name),
        "themes": [(code, term.label(loc)) for code, term in THEMES.items()],
        "licences": [(lic.id, lic.title(loc)) for lic in LICENCES.values()],
        "frequencies": [(code, term.label(loc)) for code, term in FREQUENCIES.items()],
        "access_choices": [(a.value, access_label(a.value)) for a in AccessRights],
        "classifications": [(c.value, classification_label(c.value)) for c in Classification],
    }
