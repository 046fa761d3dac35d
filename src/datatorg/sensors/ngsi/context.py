"""JSON-LD @context for NGSI-LD: term expansion and compaction, Link headers, media types.

Only what NGSI-LD needs of JSON-LD: entity types, attribute names and a few keywords are
*terms*, expanded to IRIs by the request's @context and compacted back in answers; values
are not expanded. The Core @context (ETSI GS CIM 009, Annex B) is bundled and always applies
last (it is protected: a user context cannot redefine its terms); terms no context defines
expand with its ``@vocab`` (``https://uri.etsi.org/ngsi-ld/default-context/``).

Contexts come from the ``Link`` header (``application/json`` requests) or the body's
``@context`` (``application/ld+json``). Nothing is fetched at run time: a context URL must be
one of the bundled contexts, else the request fails with ``LdContextNotAvailable``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from datatorg.sensors import vocab
from datatorg.sensors.ngsi.errors import BadRequestData, LdContextNotAvailable

HERE = Path(__file__).parent.parent / "contexts"
CORE_FILE = "ngsi-ld-core-context-v1.8.jsonld"
CONTEXT_REL = "http://www.w3.org/ns/json-ld#context"
LOCAL_PATH = "/ngsi-ld/v1/jsonldContexts/"
_CORE_URL = re.compile(
    r"^https?://uri\.etsi\.org/ngsi-ld/v1/ngsi-ld-core-context(-v1\.\d+)?\.jsonld$"
)
_LINK = re.compile(r'<([^>]*)>\s*((?:;\s*[a-zA-Z]+\s*=\s*"[^"]*"\s*)*)')
MAX_CONTEXT_TERMS = 2000  # in all the objects of one request's @context together
MAX_CONTEXT_ITEMS = 32  # URLs and objects in one @context list
MAX_CONTEXT_BYTES = 64 * 1024  # the @context as JSON; each distinct one is cached (_build)


# Read once at import, so building a request's context does no I/O (it runs on the loop).
_BUNDLED: dict[str, dict[str, Any]] = {
    p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(HERE.glob("*.jsonld"))
}


def bundled() -> dict[str, Path]:
    """Bundled context files by file name (served under ``/ngsi-ld/v1/jsonldContexts/``)."""
    return {name: HERE / name for name in _BUNDLED}


def _load(name: str) -> dict[str, Any]:
    return _BUNDLED[name]


def _local_name(url: str) -> str | None:
    """The bundled file a context URL names, or None."""
    if _CORE_URL.match(url):
        return CORE_FILE
    for name in _BUNDLED:
        if url.endswith(LOCAL_PATH + name) or url == f"urn:datatorg:context:{name}":
            return name
    for name in _BUNDLED:  # the official URLs a bundled context stands for
        if url in _load(name).get("x-aliases", []):
            return name
    return None


@dataclass(frozen=True)
class Context:
    """Terms → IRIs (already resolved), the vocabulary, and the context as sent (for
    answers): the URL list (or objects) the client gave, never including the core."""

    terms: dict[str, str]
    vocab: str = vocab.DEFAULT_VOCAB
    sent: tuple[Any, ...] = ()
    _reverse: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def expand(self, term: str) -> str:
        """The IRI of ``term`` (an attribute name or entity type)."""
        found = self.terms.get(term)
        if found is not None:
            return found
        prefix, sep, rest = term.partition(":")
        if sep:
            if prefix in self.terms and not rest.startswith("//"):
                return self.terms[prefix] + rest
            return term  # an absolute IRI (https://…, urn:…)
        return self.vocab + term

    def compact(self, iri: str) -> str:
        """The shortest name of ``iri`` under this context."""
        reverse = self._reverse
        if not reverse:
            for term, target in self.terms.items():
                if term.startswith("@") or ":" in term:
                    continue
                if target not in reverse or len(term) < len(reverse[target]):
                    reverse[target] = term
        hit = reverse.get(iri)
        if hit is not None:
            return hit
        if iri.startswith(self.vocab):
            rest = iri[len(self.vocab) :]
            if rest and "/" not in rest and ":" not in rest and rest not in self.terms:
                return rest
        return iri

    def body_value(self) -> Any:
        """The ``@context`` to put in an ``application/ld+json`` answer."""
        core = core_url()
        if not self.sent:
            return core
        return [*self.sent, core] if core not in self.sent else list(self.sent)

    def link_url(self) -> str:
        """The context URL for a ``Link`` header in an ``application/json`` answer."""
        urls = [s for s in self.sent if isinstance(s, str)]
        return urls[0] if len(urls) == 1 and len(self.sent) == 1 else core_url()


def core_url() -> str:
    return vocab.CORE_CONTEXT_URL


def _resolve(value: str, terms: dict[str, Any], depth: int = 0) -> str:
    """A term definition's IRI, with prefixes (``ngsi-ld:x``) resolved."""
    if depth > 10:
        raise BadRequestData("The @context has a loop of prefixes")
    prefix, sep, rest = value.partition(":")
    if sep and not rest.startswith("//") and prefix in terms:
        base = terms[prefix]
        base = base["@id"] if isinstance(base, dict) else base
        if isinstance(base, str):
            return _resolve(base, terms, depth + 1) + rest
    return value


def _terms_of(obj: dict[str, Any]) -> tuple[dict[str, str], str | None]:
    if len(obj) > MAX_CONTEXT_TERMS:
        raise BadRequestData("The @context has too many terms")
    out: dict[str, str] = {}
    for term, definition in obj.items():
        if term.startswith("@"):
            continue
        target = definition.get("@id") if isinstance(definition, dict) else definition
        if not isinstance(target, str):
            continue
        if target.startswith("@"):
            out[term] = target
            continue
        out[term] = _resolve(target, obj)
    voc = obj.get("@vocab")
    return out, voc if isinstance(voc, str) else None


@cache
def _core_terms() -> tuple[tuple[str, str], ...]:
    terms, _ = _terms_of(_load(CORE_FILE)["@context"])
    return tuple(terms.items())


def _flatten(value: Any, seen: int = 0) -> list[dict[str, Any]]:
    """Context objects of ``value`` (URLs to bundled files resolved), in order."""
    if seen > 8:
        raise BadRequestData("The @context nests too deeply")
    items = value if isinstance(value, list) else [value]
    out: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, str):
            name = _local_name(item)
            if name is None:
                raise LdContextNotAvailable(
                    "This server fetches no remote @context; use the core context, a bundled "
                    f"one ({', '.join(sorted(_BUNDLED))}) or put the terms inline"
                )
            if name != CORE_FILE:
                out += _flatten(_load(name).get("@context", {}), seen + 1)
        elif isinstance(item, dict):
            out.append(item)
        elif item is not None:
            raise BadRequestData("An @context entry must be a URL or an object")
    return out


def build(sent: Any = None) -> Context:
    """The context for what a client sent (``None``: the core context only).

    Bounded before it is built, since every distinct context stays in the cache: at most
    ``MAX_CONTEXT_ITEMS`` entries, ``MAX_CONTEXT_TERMS`` terms in all, and
    ``MAX_CONTEXT_BYTES`` as JSON (a signed-in caller's 8 MiB bodies, each a new context,
    would otherwise keep up to 256 × 8 MiB and their term tables in every worker)."""
    items = sent if isinstance(sent, list) else [sent]
    if len(items) > MAX_CONTEXT_ITEMS:
        raise BadRequestData(f"An @context lists at most {MAX_CONTEXT_ITEMS} entries")
    if sum(len(i) for i in items if isinstance(i, dict)) > MAX_CONTEXT_TERMS:
        raise BadRequestData("The @context has too many terms")
    key = json.dumps(sent, sort_keys=True)
    if len(key) > MAX_CONTEXT_BYTES:
        raise BadRequestData(f"The @context is larger than {MAX_CONTEXT_BYTES // 1024} KiB")
    return _build(key)


@lru_cache(maxsize=256)  # bounded: keys come from requests
def _build(key: str) -> Context:
    sent = json.loads(key)
    terms: dict[str, str] = {}
    voc = vocab.DEFAULT_VOCAB
    for obj in _flatten(sent) if sent is not None else []:
        found, obj_vocab = _terms_of(obj)
        terms.update(found)
        if len(terms) > MAX_CONTEXT_TERMS:  # the bundled contexts named count too
            raise BadRequestData("The @context has too many terms")
        if obj_vocab:
            voc = obj_vocab
    terms.update(dict(_core_terms()))  # protected: the core wins
    listed = tuple(sent) if isinstance(sent, list) else (() if sent is None else (sent,))
    listed = tuple(s for s in listed if not (isinstance(s, str) and _CORE_URL.match(s)))
    return Context(terms=terms, vocab=voc, sent=listed)


def from_link(header: str | None) -> Context:
    """The context named by a request's ``Link`` header (the core one when there is none)."""
    if not header:
        return build(None)
    urls = []
    for match in _LINK.finditer(header):
        params = dict(
            (k.strip().lower(), v)
            for k, v in re.findall(r';\s*([a-zA-Z]+)\s*=\s*"([^"]*)"', match.group(2))
        )
        if params.get("rel") == CONTEXT_REL:
            urls.append(match.group(1))
    if len(urls) > 1:
        raise BadRequestData("Send one JSON-LD context Link header, not several")
    return build(urls[0]) if urls else build(None)


def link_header(ctx: Context) -> str:
    return f'<{ctx.link_url()}>; rel="{CONTEXT_REL}"; type="application/ld+json"'
