"""Jinja2 templates: one environment, translated through the request's locale."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, pass_context, pass_eval_context, select_autoescape
from jinja2.nodes import EvalContext
from markupsafe import Markup, escape
from starlette.responses import Response

from datatorg.web import formatting, i18n, labels, menu, problems

TEMPLATE_DIRS = [str(Path(__file__).with_name("templates"))]
for _domain in (
    "identity",
    "catalog",
    "market",
    "privacy",
    "access",
    "pilots",
    "sensors",
    "lake",
    "outbox",
):
    _dir = Path(__file__).parent.parent / _domain / "templates"
    TEMPLATE_DIRS.append(str(_dir))

_env = Environment(
    loader=FileSystemLoader(TEMPLATE_DIRS),
    autoescape=select_autoescape(["html", "xml"], default_for_string=True),
    extensions=["jinja2.ext.i18n"],
)
_env.install_gettext_callables(  # type: ignore[attr-defined]
    i18n.gettext, i18n.ngettext, newstyle=True
)


# Jinja's own ``_``, ``gettext`` and ``ngettext`` take the whole template context; called
# inside a loop, each call copies it (``Context.derived``), twice for ``_``: 20 % of the
# catalog page's CPU went to those copies. These take only the evaluation context (whether
# the output is escaped) and do what Jinja's "newstyle" ones do with it.
@pass_eval_context
def _template_gettext(eval_ctx: EvalContext, string: str, /, **variables: Any) -> str:
    text = i18n.gettext(string)
    return (Markup(text) if eval_ctx.autoescape else text) % variables


@pass_eval_context
def _template_ngettext(
    eval_ctx: EvalContext, singular: str, plural: str, num: int, /, **variables: Any
) -> str:
    variables.setdefault("num", num)
    text = i18n.ngettext(singular, plural, num)
    return (Markup(text) if eval_ctx.autoescape else text) % variables


_env.globals.update(_=_template_gettext, gettext=_template_gettext, ngettext=_template_ngettext)
templates = Jinja2Templates(env=_env)
templates.env.globals["LOCALES"] = i18n.LOCALES


@pass_context
def csrf_field(ctx: Any) -> Markup:
    """The hidden CSRF input every form must carry."""
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(
        escape(ctx.get("csrf_token", ""))
    )


templates.env.globals["csrf_field"] = csrf_field

# Plain language: codes become words (``{{ state|label("agreement_state") }}``), numbers and
# dates are written the reader's way (``{{ n|num }}``, ``{{ d|day }}``, ``{{ t|moment }}``).
templates.env.filters["label"] = lambda value, kind, **params: labels.label(kind, value, **params)
templates.env.filters["num"] = formatting.num
templates.env.filters["day"] = formatting.day
templates.env.filters["moment"] = formatting.moment
templates.env.filters["local"] = formatting.local
templates.env.filters["cell"] = formatting.cell
templates.env.filters["last_day"] = formatting.last_day
templates.env.globals["label"] = labels.label
templates.env.globals["choices"] = labels.choices
templates.env.filters["grouped"] = problems.group


def warm() -> None:
    """Read both languages' catalogs and compile every page template now (blocking: about a
    second and a half of CPU on two slow cores), so that the first pages a new worker serves
    do not pay for it: the first front page after a start had taken 3.7 s."""
    for locale in i18n.LOCALES:
        i18n.translations(locale)
    for name in _env.list_templates(filter_func=lambda n: n.endswith(".html")):
        _env.get_template(name)


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """Render template ``name`` for ``request`` in the request's language."""
    actor = getattr(request.state, "actor", None)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    ctx: dict[str, Any] = {
        "locale": i18n.current_locale(),
        "actor": actor,
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "here": here,  # where this page is, for "sign in and come back" and the language switch
        "menu_counts": menu.counts(request.app.state, actor),
    }
    ctx.update(context or {})
    return templates.TemplateResponse(request, name, ctx, status_code=status_code, headers=headers)
