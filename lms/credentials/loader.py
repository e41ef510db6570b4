"""The JSON-LD contexts the credentials are signed against, read from ``contexts/``, and nothing else.

Signing and verifying never fetch anything: :func:`document_loader` serves the vendored copies
(contexts/README.md says which versions, from where) and refuses every other URL with
:class:`ContextRefused`. The processed contexts are kept in a cache of this module's own (not
PyLD's process-wide one, which another loader could have filled), so a credential's
canonicalisation does not parse the 10 KB and 14 KB contexts again each time.

:func:`canonize` is RDFC-1.0 (URDNA2015) canonicalisation in a strict mode: a property the
contexts do not define, or a type or identifier that is not an absolute IRI, would silently drop
out of the canonical form (and so out of what the signature covers); here it is an error
(:class:`UndefinedTerm`) instead, for what we sign and for what we are asked to verify.
"""
from __future__ import annotations

import copy
import functools
import json
import threading
from pathlib import Path
from typing import Any

from pyld import jsonld
from pyld.context_resolver import ContextResolver

CONTEXTS_DIR = Path(__file__).parent / "contexts"

CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3P0 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"

#: URL -> the vendored file; nothing else is ever loaded
FILES = {
    CREDENTIALS_V2: "credentials-v2.jsonld",
    OB_V3P0: "ob-v3p0-context-3.0.3.json",
}

#: processed contexts, by URL and by scoped context (only ever filled through :func:`document_loader`);
#: large enough for both vendored contexts and all their type-scoped contexts (a smaller one evicts the
#: remote contexts and every credential processes them again: ~130 ms a signature instead of ~30 ms)
_resolved = jsonld.LRUCache(maxsize=256)
_lock = threading.Lock()


class ContextRefused(Exception):
    """A context URL that is not one of the vendored files."""

    def __init__(self, url: str) -> None:
        super().__init__(f"context not allowed: {url!r}")
        self.url = url


class UndefinedTerm(ValueError):
    """A property, type or identifier that would drop out of the canonical form."""

    def __init__(self, what: str) -> None:
        super().__init__(f"not defined by the contexts: {what!r}")
        self.what = what


@functools.cache
def _document(url: str) -> dict[str, Any]:
    return json.loads((CONTEXTS_DIR / FILES[url]).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def document_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """PyLD's document loader: the vendored context for ``url``, or :class:`ContextRefused`."""
    if not isinstance(url, str) or url not in FILES:
        raise ContextRefused(str(url))
    return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url,
            "document": copy.deepcopy(_document(url)), "tag": "static"}


def _options(**extra: Any) -> dict[str, Any]:
    return {"documentLoader": document_loader, "contextResolver": ContextResolver(_resolved, document_loader),
            "base": "", **extra}


def _strict_expand(doc: dict[str, Any]) -> list[Any]:
    def dropped(prop: str | None) -> None:
        raise UndefinedTerm(str(prop))

    expanded = jsonld.JsonLdProcessor(on_property_dropped=dropped).expand(doc, _options())
    _check_iris(expanded)
    return expanded  # type: ignore[no-any-return]


def _is_absolute(iri: Any) -> bool:
    """An IRI the document gave in full (or a blank node). PyLD resolves a relative one against its
    placeholder base (http://example.org/base/); other processors drop it or keep it relative:
    either way it would not mean the same thing everywhere, so it counts as undefined."""
    if not isinstance(iri, str) or iri.startswith(jsonld.DEFAULT_BASE_IRI):
        return False
    return iri.startswith("_:") or (":" in iri and not iri.startswith(":"))


def _check_iris(node: Any) -> None:
    """Every @type and @id in expanded form is an absolute IRI (or a blank node)."""
    if isinstance(node, list):
        for item in node:
            _check_iris(item)
    elif isinstance(node, dict):
        if "@value" in node:
            if "@type" in node and not _is_absolute(node["@type"]) and node["@type"] != "@json":
                raise UndefinedTerm(str(node["@type"]))
            return
        types = node.get("@type", [])
        for t in types if isinstance(types, list) else [types]:
            if not _is_absolute(t):
                raise UndefinedTerm(str(t))
        if "@id" in node and not _is_absolute(node["@id"]):
            raise UndefinedTerm(str(node["@id"]))
        for key, value in node.items():
            if key not in ("@id", "@type"):
                _check_iris(value)


def canonize(doc: dict[str, Any]) -> str:
    """RDFC-1.0 canonical N-Quads of ``doc`` (strict: see the module's docstring).

    One at a time per process: the processed-context cache is not safe to change from two threads."""
    with _lock:
        expanded = _strict_expand(doc)
        return jsonld.normalize(expanded, _options(algorithm="URDNA2015", format="application/n-quads"))  # type: ignore[no-any-return]


def root_cause(exc: BaseException) -> BaseException:
    """The first ContextRefused or UndefinedTerm behind ``exc`` (PyLD wraps errors in its own), else ``exc``."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, (ContextRefused, UndefinedTerm)):
            return cur
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return exc
