"""Checks that a page speaks plain bokmål: no enum code, English label or English system
message from the label registry in its visible text.

Data is left out of the check: elements marked ``translate="no"`` (rows, column names, API
addresses, keys), ``<script>``/``<style>``, and text marked as another language (``lang``).
"""

from __future__ import annotations

import re
from functools import cache
from html.parser import HTMLParser

from datatorg.web import labels

# Codes that are also Norwegian words (or too short to tell apart) are not looked for.
NORWEGIAN_WORDS = {
    "time",
    "in",
    "not",
    "gt",
    "lt",
    "gte",
    "lte",
    "api",
    "status",
    "evaluator",
    "startup",
}
# Kinds whose codes are the names people use too (file formats, encodings, licence ids).
NAMES = {"file_format", "encoding", "licence", "read_channel"}
# English the platform must never show a Norwegian reader, whatever the registry holds.
ENGLISH_MESSAGES = [
    "Several agreements cover this dataset",
    "Columns outside the agreement",
    "The agreement does not cover these columns",
    "Value should have",
    "Expected Number of Columns",
    "Field required",
    "Invalid value for",
    "Authentication required",
    "This dataset is not open",
    "Some fields are not valid",
    "must be after the start",
    "Not Found",
    "Internal Server Error",
]


class _Visible(HTMLParser):
    SKIP = {"head", "script", "style", "template", "noscript"}
    VOID = {"br", "img", "input", "meta", "link", "hr", "source", "wbr", "col", "area"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[bool] = []  # per open element: is its text left out?
        self.out: list[str] = []

    def _hidden(self) -> bool:
        return bool(self.stack) and self.stack[-1]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            return
        a = dict(attrs)
        hidden = (
            self._hidden()
            or tag in self.SKIP
            or a.get("translate") == "no"
            or (a.get("lang") not in (None, "nb", "no"))
            or "hidden" in a
        )
        self.stack.append(hidden)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not self._hidden():
            self.out.append(data)


def visible_text(html: str) -> str:
    """The text of ``html``'s body a reader sees, without data and other-language parts."""
    parser = _Visible()
    parser.feed(html)
    return " ".join(" ".join(parser.out).split())


def _code_like(value: str) -> bool:
    if value in NORWEGIAN_WORDS or len(value) < 4:
        return False
    return True


@cache
def forbidden() -> list[tuple[str, re.Pattern[str]]]:
    """(what, pattern) for every code and English label of the registry, and known English."""
    found: dict[str, re.Pattern[str]] = {}
    nb_texts = " | ".join(words.nb for _k, _v, words in labels.entries())
    for kind, value, words in labels.entries():
        if kind in ("form_error", "http_advice"):  # sentences with {placeholders}: see below
            continue
        if (
            kind not in NAMES
            and _code_like(value)
            and not re.search(rf"\b{re.escape(value)}\b", nb_texts)
        ):
            found[f"{kind} code {value!r}"] = re.compile(rf"(?<![\w-]){re.escape(value)}(?![\w-])")
        en = words.en
        if en != words.nb and len(en) >= 4 and "{" not in en:
            if not re.search(rf"\b{re.escape(en)}\b", nb_texts):
                found[f"{kind} English {en!r}"] = re.compile(rf"\b{re.escape(en)}\b")
    for kind in ("form_error", "http_advice", "failed_term"):
        for value, words in labels.kinds().get(kind, {}).items():
            head = words.en.split("{")[0].strip()
            if len(head) >= 12 and words.en != words.nb:
                found[f"{kind} {value} in English"] = re.compile(re.escape(head))
    for message in ENGLISH_MESSAGES:
        found[f"English message {message!r}"] = re.compile(re.escape(message))
    return sorted(found.items())


def english_leaks(html: str) -> list[str]:
    """What the page shows a Norwegian reader that is a code or English (empty: plain)."""
    text = visible_text(html)
    return [f"{what} in: …{m.string[max(0, m.start() - 40) : m.end() + 40]}…"
            for what, pattern in forbidden()
            if (m := pattern.search(text))]  # fmt: skip
