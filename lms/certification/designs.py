"""Certificate designs as data: ``certificates/<design>/`` folders, validated at start-up.

A design folder holds ``metadata.yaml`` (which kind of certificate it makes and who is
eligible), ``template.html`` (Jinja, autoescaped), ``style.css`` and the font files it
bundles (with their licence). Which kinds exist is decided here, by the folders: adding a
design needs no code change. The only names code defines are the *subjects* a certificate
can be about (a training session, an enrolment) and the *requirements* it knows how to
check; everything else (serial prefix, eligible attendance, signatories, texts) is data.

Nothing here imports WeasyPrint or Flask, so the web process can validate designs cheaply
and render workers can load them by path.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..programme.curriculum import safe_load

#: what a certificate can be about, and the field of the design that says who is eligible
SUBJECTS = ("session", "enrolment")
#: attendance values a session design may accept (lms.sessions.models.Attendance)
ATTENDANCE = ("present", "late", "excused", "absent")
#: requirements an enrolment design may name
REQUIREMENTS = ("all_stages_complete",)
REQUIRED_FILES = ("metadata.yaml", "template.html", "style.css")
FONT_SUFFIXES = (".ttf", ".otf", ".woff", ".woff2")
LICENCE_FILES = ("OFL.txt", "LICENSE", "LICENSE.txt", "OFL")
KNOWN_FIELDS = {"kind", "name", "serial_prefix", "subject", "eligible_attendance", "session_stages", "requires",
                "requires_post_test", "hosts", "signatories", "place", "pdf", "texts"}
SERIAL_PREFIX = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,15}$")
KIND = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
CSS_URL = re.compile(r"url\(\s*(['\"]?)([^'\")]+)\1\s*\)")


class DesignError(Exception):
    """One or more designs are invalid; ``problems`` names every one."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Signatory:
    name: str
    title: str
    #: Nomor Induk Pegawai, for civil servants (optional)
    nip: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "title": self.title, "nip": self.nip}


@dataclass(frozen=True)
class Design:
    key: str
    path: Path
    kind: str
    name: dict[str, str]
    serial_prefix: str
    subject: str
    eligible_attendance: tuple[str, ...] = ()
    session_stages: tuple[str, ...] = ()
    requires: str | None = None
    #: a session design may also require a passed post-test: the share of correct answers needed (None: not)
    post_test_threshold: float | None = None
    hosts: tuple[str, ...] = ()
    signatories: tuple[Signatory, ...] = ()
    place: str = "Jakarta"
    pdf: dict[str, str] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)

    def label(self, lang: str = "id") -> str:
        return self.name.get(lang) or self.name["id"]

    @property
    def batch_scope(self) -> str:
        """What a bulk run covers: a session's attendees, or a cohort's enrolments."""
        return "session" if self.subject == "session" else "cohort"


def sample_context(design: Design) -> dict[str, Any]:
    """A context with every variable a template may use (for validation and previews)."""
    return {
        "holder_name": "Siti Aminah", "outlet_name": "e-Warong KUBE Melati", "outlet_code": "EW-3171-0001",
        "serial": f"{design.serial_prefix}/2018/000001", "verify_url": "https://lms.example/verify/sample",
        "qr": "data:image/svg+xml,%3Csvg%20xmlns%3D%22http%3A%2F%2Fwww.w3.org%2F2000%2Fsvg%22%2F%3E",
        "kind_name": design.label("id"), "subject_title": "Bimbingan Teknis e-Warong Jakarta Pusat",
        "subject_dates": "10 April 2018", "venue": "Aula Dinas Sosial", "region_name": "Jakarta Pusat",
        "cohort_name": "e-Warong DKI Jakarta 2018", "programme_name": "Program 7 PAS OK OCE e-Warong",
        "completed_on": "28 November 2018", "issued_on": "16 April 2018", "place": design.place,
        "hosts": list(design.hosts), "signatories": [dict(s.as_dict(), signature=None) for s in design.signatories],
        "pdf": dict(design.pdf), "texts": dict(design.texts), "issued_iso": "2018-04-16T09:00:00+07:00",
        # the branding (lms/certification/branding.py): data: URIs of PNG/JPEG images, or None
        "logo_left": None, "logo_right": None, "stamp": None,
    }


# --- parsing and validation ------------------------------------------------------------------

def _text_map(node: Any, where: str, problems: list[str]) -> dict[str, str]:
    if not isinstance(node, dict) or not all(isinstance(node.get(k), str) and node[k].strip() for k in ("id", "en")):
        problems.append(f"{where}: must be a mapping with non-empty 'id' and 'en' texts")
        return {"id": "", "en": ""}
    return {"id": node["id"].strip(), "en": node["en"].strip()}


def _str_list(node: Any, where: str, problems: list[str], allowed: tuple[str, ...] | None = None,
              required: bool = True) -> tuple[str, ...]:
    if node is None and not required:
        return ()
    if not isinstance(node, list) or not node or not all(isinstance(v, str) and v.strip() for v in node):
        problems.append(f"{where}: must be a non-empty list of texts")
        return ()
    if allowed is not None and any(v not in allowed for v in node):
        problems.append(f"{where}: values must be drawn from {list(allowed)}, got {node}")
        return ()
    return tuple(v.strip() for v in node)


def _check_css(path: Path, problems: list[str]) -> None:
    css = (path / "style.css").read_text(encoding="utf-8")
    if "@font-face" not in css:
        problems.append(f"{path}/style.css: bundles no font (@font-face) — designs must not depend on system fonts")
    root = path.resolve()
    for _q, ref in CSS_URL.findall(css):
        ref = ref.strip()
        if ref.startswith("data:"):
            continue
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", ref) or ref.startswith(("/", "\\")):
            problems.append(f"{path}/style.css: url({ref}) must be a relative path inside the design folder")
            continue
        target = (path / ref).resolve()
        if not target.is_relative_to(root):
            problems.append(f"{path}/style.css: url({ref}) points outside the design folder")
        elif not target.is_file():
            problems.append(f"{path}/style.css: url({ref}) does not exist")
        elif target.suffix.lower() in FONT_SUFFIXES and not any((target.parent / n).is_file() for n in LICENCE_FILES):
            problems.append(f"{path}/style.css: font {ref} has no licence file (OFL.txt) beside it")


def _check_template(design: Design, problems: list[str]) -> None:
    from jinja2 import TemplateError

    source = (design.path / "template.html").read_text(encoding="utf-8")
    if re.search(r"\|\s*safe\b", source) or "Markup" in source:
        problems.append(f"{design.path}/template.html: |safe is not allowed (every value is escaped)")
        return
    if "<style" in source.lower():
        problems.append(f"{design.path}/template.html: put CSS in style.css, not in a <style> element")
    try:
        html = template_env(str(design.path)).get_template("template.html").render(**sample_context(design))
    except TemplateError as e:
        problems.append(f"{design.path}/template.html: {type(e).__name__}: {e}")
        return
    sample = sample_context(design)
    for name in ("serial", "holder_name", "qr"):
        if str(sample[name]).replace("&", "&amp;") not in html:
            problems.append(f"{design.path}/template.html: does not show {{{{ {name} }}}}")


@functools.lru_cache(maxsize=32)
def template_env(path: str):  # type: ignore[no-untyped-def]
    """The design's Jinja environment: autoescaped, strict about unknown variables."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    return Environment(loader=FileSystemLoader(path), autoescape=True, undefined=StrictUndefined,
                       auto_reload=False, keep_trailing_newline=False)


def parse(path: Path, overrides: dict[str, Any] | None = None) -> Design:
    """Read and validate one design folder; raise DesignError naming every problem."""
    problems: list[str] = []
    path = Path(path)
    missing = [f for f in REQUIRED_FILES if not (path / f).is_file()]
    if missing:
        raise DesignError([f"{path}: missing {', '.join(missing)}"])
    try:
        meta = safe_load((path / "metadata.yaml").read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise DesignError([f"{path}/metadata.yaml: not valid YAML: {getattr(e, 'problem', e)}"]) from None
    where = f"{path}/metadata.yaml"
    if not isinstance(meta, dict):
        raise DesignError([f"{where}: top level must be a mapping"])
    for extra in sorted(set(meta) - KNOWN_FIELDS):
        problems.append(f"{where}: {extra}: unknown field")
    kind = meta.get("kind")
    if not isinstance(kind, str) or not KIND.match(kind):
        problems.append(f"{where}: kind: must be a lower-case identifier, got {kind!r}")
        kind = str(kind)
    name = _text_map(meta.get("name"), f"{where}: name", problems)
    prefix = meta.get("serial_prefix")
    if not isinstance(prefix, str) or not SERIAL_PREFIX.match(prefix):
        problems.append(f"{where}: serial_prefix: must be 1–16 capital letters, digits or '-', got {prefix!r}")
        prefix = "X"
    subject = meta.get("subject")
    attendance: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    requires = None
    post_test: float | None = None
    if subject == "session":
        attendance = _str_list(meta.get("eligible_attendance"), f"{where}: eligible_attendance", problems, ATTENDANCE)
        stages = _str_list(meta.get("session_stages"), f"{where}: session_stages", problems, required=False)
        if "requires" in meta:
            problems.append(f"{where}: requires: only enrolment designs name requirements")
        if "requires_post_test" in meta:
            node = meta.get("requires_post_test")
            value = node.get("threshold") if isinstance(node, dict) and set(node) == {"threshold"} else None
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
                problems.append(f"{where}: requires_post_test: must be {{threshold: <share between 0 and 1, "
                                f"e.g. 0.7>}}, got {node!r}")
            else:
                post_test = float(value)
    elif subject == "enrolment":
        requires = meta.get("requires")
        if requires not in REQUIREMENTS:
            problems.append(f"{where}: requires: must be one of {list(REQUIREMENTS)}, got {requires!r}")
        for f in ("eligible_attendance", "session_stages", "requires_post_test"):
            if f in meta:
                problems.append(f"{where}: {f}: only session designs name attendance, stages or a post-test")
    else:
        problems.append(f"{where}: subject: must be one of {list(SUBJECTS)}, got {subject!r}")
    hosts = _str_list(meta.get("hosts"), f"{where}: hosts", problems)
    sig_node = (overrides or {}).get("signatories", meta.get("signatories"))
    signatories: list[Signatory] = []
    if not isinstance(sig_node, list) or not 1 <= len(sig_node) <= 3:
        problems.append(f"{where}: signatories: must list one to three signatories")
    else:
        for i, s in enumerate(sig_node, start=1):
            if not isinstance(s, dict) or not all(isinstance(s.get(k), str) and s[k].strip() for k in ("name", "title")):
                problems.append(f"{where}: signatories[{i}]: needs a non-empty name and title")
                continue
            extra = set(s) - {"name", "title", "nip"}
            if extra:
                problems.append(f"{where}: signatories[{i}]: unknown field(s) {sorted(extra)}")
            signatories.append(Signatory(s["name"].strip(), s["title"].strip(), str(s.get("nip") or "").strip()))
    pdf = meta.get("pdf")
    if not isinstance(pdf, dict) or not all(isinstance(pdf.get(k), str) and pdf[k].strip()
                                            for k in ("title", "author", "subject")):
        problems.append(f"{where}: pdf: needs non-empty title, author and subject (the PDF's metadata)")
        pdf = {"title": "", "author": "", "subject": ""}
    texts = meta.get("texts") or {}
    if not isinstance(texts, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in texts.items()):
        problems.append(f"{where}: texts: must map names to texts")
        texts = {}
    place = meta.get("place", "Jakarta")
    if not isinstance(place, str) or not place.strip():
        problems.append(f"{where}: place: must be a text")
        place = "Jakarta"
    design = Design(key=path.name, path=path.resolve(), kind=kind, name=name, serial_prefix=prefix,
                    subject=str(subject), eligible_attendance=attendance, session_stages=stages, requires=requires,
                    post_test_threshold=post_test,
                    hosts=hosts, signatories=tuple(signatories), place=place.strip(),
                    pdf={k: str(v) for k, v in pdf.items()}, texts=dict(texts))
    if not problems:
        _check_css(path, problems)
        _check_template(design, problems)
    if problems:
        raise DesignError(problems)
    return design


def load_dir(directory: Path | str, signatories: dict[str, Any] | None = None) -> dict[str, Design]:
    """Every design folder in ``directory``, by kind. ``signatories`` overrides them per kind."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DesignError([f"{directory}: no certificate design folder"])
    found: dict[str, Design] = {}
    problems: list[str] = []
    for path in sorted(p for p in directory.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        meta_kind = None
        try:
            meta = safe_load((path / "metadata.yaml").read_text(encoding="utf-8")) if (path / "metadata.yaml").is_file() else None
            meta_kind = meta.get("kind") if isinstance(meta, dict) else None
        except yaml.YAMLError:
            pass
        override = (signatories or {}).get(meta_kind) if isinstance(meta_kind, str) else None
        try:
            design = parse(path, {"signatories": override} if override is not None else None)
        except DesignError as e:
            problems.extend(e.problems)
            continue
        if design.kind in found:
            problems.append(f"{path}: kind {design.kind!r} is already made by {found[design.kind].path}")
            continue
        found[design.kind] = design
    if not found and not problems:
        problems.append(f"{directory}: no certificate designs")
    if problems:
        raise DesignError(problems)
    return found
