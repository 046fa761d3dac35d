"""Translations in templates (``web.templating``): the same words, escapes and plurals as
Jinja's own "newstyle" gettext, without copying the template context at every call."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from jinja2.runtime import Context

from datatorg.settings import Settings
from datatorg.web import i18n
from datatorg.web.templating import templates


@pytest.fixture
def bokmal() -> Iterator[None]:
    token = i18n.locale_var.set("nb")
    yield
    i18n.locale_var.reset(token)


def _render(source: str, **context: Any) -> str:
    return templates.env.from_string(source).render(**context)


def test_words_are_translated_and_variables_escaped(bokmal: None) -> None:
    out = _render('{{ _("Datasets found: %(num)s", num=n) }}', n="<b>3</b>")
    assert out == "Datasett funnet: &lt;b&gt;3&lt;/b&gt;"


def test_plurals_and_their_number(bokmal: None) -> None:
    source = '{{ ngettext("%(num)d column", "%(num)d columns", n) }}'
    one, many = _render(source, n=1), _render(source, n=4)
    assert one != many and "1" in one and "4" in many
    assert i18n.ngettext("%(num)d column", "%(num)d columns", 4) % {"num": 4} == many


def test_english_is_the_message_itself() -> None:
    token = i18n.locale_var.set("en")
    try:
        assert _render('{{ _("Datasets found: %(num)s", num=2) }}') == "Datasets found: 2"
    finally:
        i18n.locale_var.reset(token)


def test_without_autoescape_nothing_is_escaped(bokmal: None) -> None:
    env = templates.env.overlay(autoescape=False)
    out = env.from_string('{{ _("Datasets found: %(num)s", num=n) }}').render(n="<3>")
    assert out == "Datasett funnet: <3>"


@pytest.mark.parametrize(
    "source",
    [
        '{% for n in ns %}{% set m = n %}{{ _("Datasets found: %(num)s", num=m) }};{% endfor %}',
        '{% block body %}{% set m = 1 %}{{ _("Datasets found: %(num)s", num=m) }};'
        '{{ _("Datasets found: %(num)s", num=2) }};{% endblock %}',
    ],
    ids=["loop", "block"],
)
def test_a_translation_copies_no_context(
    bokmal: None, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    """In a loop or a block that sets a variable (most pages' content blocks do), Jinja's own
    ``_`` copied the whole context twice per call (20 % of the catalog page's CPU)."""
    copies: list[int] = []
    derived = Context.derived

    def counting(self: Context, locals: dict[str, Any] | None = None) -> Context:
        copies.append(1)
        return derived(self, locals)

    monkeypatch.setattr(Context, "derived", counting)
    out = _render(source, ns=[1, 2])
    assert out == "Datasett funnet: 1;Datasett funnet: 2;"
    assert copies == []


def test_a_new_worker_compiles_its_pages_before_its_first_request(settings: Settings) -> None:
    """The app's start-up reads the catalogs and compiles every page template, so the first
    visitor after a start does not wait for it (the first front page had taken 3.7 s)."""
    from fastapi.testclient import TestClient

    from datatorg.app import create_app

    env = templates.env
    assert env.cache is not None
    env.cache.clear()
    i18n.translations.cache_clear()
    with TestClient(create_app(settings)):
        compiled = {key[1] for key in env.cache.keys()}
        assert {"catalog/search.html", "catalog/dataset.html", "base.html"} <= compiled
        assert i18n.translations.cache_info().currsize == len(i18n.LOCALES)
