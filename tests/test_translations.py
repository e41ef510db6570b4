"""The English catalogue keeps up with the Indonesian source strings.

Messages are extracted from the source tree the way `pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_pgettext:1c,2`
does, then compared with lms/translations/en/LC_MESSAGES/messages.po. When a test here fails after you
added or changed a string, refresh and translate the catalogue:

    .venv/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_pgettext:1c,2 -o /tmp/messages.pot \\
        --no-location --sort-output --project "7 PAS LMS" .
    .venv/bin/pybabel update -i /tmp/messages.pot -d lms/translations --no-fuzzy-matching

then fill in the empty msgstr entries of the en .po (keep every %(name)s placeholder).
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
BABEL_CFG = ROOT / "babel.cfg"
EN_PO = ROOT / "lms" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
#: the extra keywords given to `pybabel extract` (-k _l -k lazy_gettext)
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "lazy_pgettext": ((1, "c"), 2)}
#: directories never searched for source files
SKIP_DIRS = {".venv", "venv", "node_modules", "__pycache__", "instance", "build", "screenshots"}

#: %(name)s, %(num)d, %s ... (but not the literal %%)
PLACEHOLDER = re.compile(r"%(?:\((?P<name>[^)]+)\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?(?P<conv>[diouxXeEfFgGcrsa%])")
#: {m}: filled in by the browser scripts (templates hand them texts in data-msg-* attributes)
BRACE_PLACEHOLDER = re.compile(r"\{\w+\}")

Key = tuple[str, str | None]  # (msgid, msgctxt)


def _placeholders(text: str) -> list[str]:
    found = []
    for m in PLACEHOLDER.finditer(text):
        if m.group("conv") == "%":
            continue
        found.append(f"%({m.group('name')}){m.group('conv')}" if m.group("name") else f"%{m.group('conv')}")
    found.extend(BRACE_PLACEHOLDER.findall(text))
    return sorted(found)


def _directory_filter(dirpath: str) -> bool:
    name = Path(dirpath).name
    return not (name.startswith((".", "_")) or name in SKIP_DIRS)


def _source_messages() -> Iterator[tuple[str, int, Any, str | None]]:
    with BABEL_CFG.open() as f:
        method_map, options_map = parse_mapping_cfg(f, str(BABEL_CFG))
    # Jinja2 registers the "jinja2" extractor as an entry point; name the function directly.
    method_map = [(pattern, "jinja2.ext:babel_extract" if method == "jinja2" else method)
                  for pattern, method in method_map]
    for filename, lineno, message, _comments, context in extract_from_dir(
            ROOT, method_map, options_map, keywords=KEYWORDS, directory_filter=_directory_filter):
        yield filename, lineno, message, context


@pytest.fixture(scope="module")
def extracted() -> dict[Key, tuple[Any, list[str]]]:
    """Every message in the source: (msgid, msgctxt) -> (message as extracted, where it is used)."""
    found: dict[Key, tuple[Any, list[str]]] = {}
    for filename, lineno, message, context in _source_messages():
        singular = message[0] if isinstance(message, (tuple, list)) else message
        if not singular:
            continue
        entry = found.setdefault((singular, context), (message, []))
        entry[1].append(f"{filename}:{lineno}")
    return found


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    assert EN_PO.is_file(), f"{EN_PO.relative_to(ROOT)} is missing: run pybabel init (see this module's docstring)"
    with EN_PO.open("rb") as f:
        return read_po(f, locale="en")


def _messages(catalog: Catalog) -> list[Message]:
    return [m for m in catalog if m.id]


def _forms(message: Message) -> list[str]:
    if isinstance(message.string, (tuple, list)):
        return list(message.string)
    return [message.string or ""]


def test_both_python_and_templates_are_extracted(extracted: dict[Key, tuple[Any, list[str]]]) -> None:
    places = [p for _msg, where in extracted.values() for p in where]
    assert any(p.startswith("lms/") and ".py:" in p for p in places), "no messages found in lms/**.py"
    assert any(p.startswith("templates/") and ".html:" in p for p in places), "no messages found in templates/"


def test_every_source_message_has_an_english_translation(
        extracted: dict[Key, tuple[Any, list[str]]], catalog: Catalog) -> None:
    problems = []
    for (msgid, context), (message, where) in sorted(extracted.items(), key=lambda kv: kv[0][0]):
        entry = catalog.get(msgid, context=context)
        is_plural = isinstance(message, (tuple, list))
        if entry is None:
            problems.append(f"not in the .po: {msgid!r}  ({where[0]})")
        elif is_plural != entry.pluralizable:
            problems.append(f"plural/singular differs from the source: {msgid!r}  ({where[0]})")
        elif not all(form.strip() for form in _forms(entry)) or (
                is_plural and len(_forms(entry)) != catalog.num_plurals):
            problems.append(f"untranslated: {msgid!r}  ({where[0]})")
    if problems:
        pytest.fail(f"{len(problems)} message(s) without English (the pybabel commands to run are in "
                    "tests/test_translations.py):\n" + "\n".join(problems), pytrace=False)


def test_placeholders_match(catalog: Catalog) -> None:
    problems = []
    for m in _messages(catalog):
        forms = _forms(m)
        if not any(forms):
            continue  # untranslated: reported by the test above
        if m.pluralizable:
            ids = list(m.id)
            allowed = set(_placeholders(ids[0])) | set(_placeholders(ids[-1]))
            for i, form in enumerate(forms):
                got = _placeholders(form)
                if not set(got) <= allowed:
                    problems.append(f"{ids[0]!r} msgstr[{i}]: {got} not among {sorted(allowed)}")
            if forms and _placeholders(forms[-1]) != _placeholders(ids[-1]):
                problems.append(f"{ids[0]!r} msgstr[{len(forms) - 1}]: {_placeholders(forms[-1])} "
                                f"!= {_placeholders(ids[-1])}")
        elif _placeholders(m.string) != _placeholders(m.id):
            problems.append(f"{m.id!r}: {_placeholders(m.string)} != {_placeholders(m.id)}")
    # Babel's own checks too (python-format compatibility, number of plural forms)
    for m, errors in catalog.check():
        problems.extend(f"{m.id!r}: {e}" for e in errors)
    if problems:
        pytest.fail("placeholders differ between msgid and msgstr:\n" + "\n".join(problems), pytrace=False)


def test_no_fuzzy_entries(catalog: Catalog) -> None:
    fuzzy = [repr(m.id) for m in _messages(catalog) if m.fuzzy]
    assert not catalog.fuzzy, "the .po header is marked fuzzy"
    if fuzzy:
        pytest.fail("fuzzy entries (check the translation, then remove the fuzzy flag):\n" + "\n".join(fuzzy),
                    pytrace=False)


def test_english_plural_rule(catalog: Catalog) -> None:
    assert catalog.num_plurals == 2
    assert catalog.plural_expr.replace(" ", "") in {"(n!=1)", "n!=1"}


def test_the_compiled_catalogue_matches_the_po_file(catalog: Catalog) -> None:
    """The app reads messages.mo (compiled by `make translations`, not committed): it must exist and
    carry every translation of messages.po, or the English UI silently shows Indonesian."""
    from babel.messages.mofile import read_mo

    mo_path = EN_PO.with_suffix(".mo")
    assert mo_path.is_file(), f"{mo_path.relative_to(ROOT)} is missing: run `make translations`"
    with mo_path.open("rb") as f:
        compiled = read_mo(f)
    stale = [m.id for m in _messages(catalog)
             if (compiled.get(m.id, m.context) is None or _forms(compiled.get(m.id, m.context)) != _forms(m))]
    assert not stale, f"{len(stale)} message(s) differ from messages.po (run `make translations`): {stale[:5]}"


def test_english_pages_are_in_english(client) -> None:
    client.set_cookie("lms_lang", "en")
    html = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in html and "Times in WIB" in html and "Waktu dalam WIB" not in html
