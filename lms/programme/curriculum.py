"""The programme as data: curricula/*.yaml, validated into frozen dataclasses.

A curriculum lists ordered stages; each stage has milestones of two kinds:
``automatic`` (counted from records by a named rule with a threshold) and ``verified``
(evidence of a named type, approved by one of the listed staff roles). The names of
the rules and evidence types are the only things code defines; everything else
(thresholds, texts, which stage needs what) lives in the file.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

#: automatic rules the progress service knows how to count
AUTOMATIC_RULES = {
    "profile_complete": {"threshold": False},
    "sessions_attended": {"threshold": True},
    "mentor_visits": {"threshold": True},
    "consecutive_reports": {"threshold": True},
}
#: evidence types that staff verify, with the values an ``accept`` filter may name
EVIDENCE_TYPES: dict[str, dict[str, set[str]]] = {
    "licence": {"type": {"NIB", "IUMK", "SKU", "other"}},
    "marketing": {"kind": {"marketing_plan", "online_shop", "bazaar", "okoce_mart"}},
    "financing": {"status": {"draft", "submitted", "approved", "rejected", "disbursed"}},
    "financial_report": {},
}
REPORT_STATUSES = {"submitted", "verified"}
VERIFIER_ROLES = {"mentor", "coordinator"}
LANGS = ("id", "en")


class CurriculumError(Exception):
    """A curriculum file is invalid. ``problems`` lists every error found."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Text:
    id: str
    en: str

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.id


@dataclass(frozen=True)
class Milestone:
    key: str
    kind: str  # automatic | verified
    name: Text
    todo: Text
    rule: str | None = None
    threshold: int = 1
    evidence: str | None = None
    verifiers: tuple[str, ...] = ()
    accept: dict[str, tuple[str, ...]] = field(default_factory=dict)
    statuses: tuple[str, ...] = ("verified",)


@dataclass(frozen=True)
class Stage:
    key: str
    number: int
    name: Text
    description: Text
    milestones: tuple[Milestone, ...]
    #: the session feedback questionnaire and the pre/post knowledge test of this stage's sessions
    #: (keys of curricula/questionnaires/*.yaml, checked by lms.feedback.questions.check_references)
    questionnaire: str | None = None
    knowledge_test: str | None = None


@dataclass(frozen=True)
class Curriculum:
    key: str
    version: int
    name: Text
    description: Text
    stages: tuple[Stage, ...]
    settings: dict[str, Any]
    source: str
    #: the programme's partner agencies, printed on its completion certificates ("diselenggarakan oleh")
    partners: tuple[str, ...] = ()

    def stage(self, key: str) -> Stage:
        for s in self.stages:
            if s.key == key:
                return s
        raise KeyError(key)

    @property
    def stage_keys(self) -> tuple[str, ...]:
        return tuple(s.key for s in self.stages)

    @property
    def visit_overdue_days(self) -> int:
        return int(self.settings.get("visit_overdue_days", 30))

    def verifiers_for(self, evidence_type: str) -> set[str]:
        roles: set[str] = set()
        for s in self.stages:
            for m in s.milestones:
                if m.evidence == evidence_type:
                    roles.update(m.verifiers)
        return roles

    def stage_for_evidence(self, evidence_type: str) -> str | None:
        for s in self.stages:
            for m in s.milestones:
                if m.evidence == evidence_type or (evidence_type == "financial_report" and m.rule == "consecutive_reports"):
                    return s.key
        return None


# --- parsing and validation --------------------------------------------------------------

class _Checker:
    def __init__(self, source: str):
        self.source = source
        self.problems: list[str] = []

    def error(self, where: str, message: str) -> None:
        self.problems.append(f"{self.source}: {where}: {message}")

    def text(self, node: Any, where: str) -> Text:
        if not isinstance(node, dict):
            self.error(where, "must be a mapping with 'id' and 'en' texts")
            return Text("", "")
        values = {}
        for lang in LANGS:
            v = node.get(lang)
            if not isinstance(v, str) or not v.strip():
                self.error(f"{where}.{lang}", "missing or empty text")
                v = ""
            values[lang] = v.strip()
        for extra in set(node) - set(LANGS):
            self.error(f"{where}.{extra}", "unknown language (use id and en)")
        return Text(**values)

    def key(self, node: Any, where: str) -> str:
        if not isinstance(node, str) or not node.replace("_", "").replace("-", "").isalnum() or not node.islower():
            self.error(where, f"must be a lower-case identifier, got {node!r}")
            return str(node)
        return node


def _milestone(c: _Checker, node: Any, where: str) -> Milestone | None:
    if not isinstance(node, dict):
        c.error(where, "must be a mapping")
        return None
    known = {"key", "kind", "name", "todo", "rule", "threshold", "evidence", "verifiers", "accept", "statuses"}
    for extra in set(node) - known:
        c.error(f"{where}.{extra}", "unknown field")
    key = c.key(node.get("key"), f"{where}.key")
    where = f"{where.rsplit('.', 1)[0]}.milestone[{key}]"
    name = c.text(node.get("name"), f"{where}.name")
    todo = c.text(node.get("todo"), f"{where}.todo")
    kind = node.get("kind")
    threshold = node.get("threshold", 1)
    if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 1:
        c.error(f"{where}.threshold", f"must be a whole number of at least 1, got {threshold!r}")
        threshold = 1
    if kind == "automatic":
        rule = node.get("rule")
        if rule not in AUTOMATIC_RULES:
            c.error(f"{where}.rule", f"unknown rule {rule!r} (known: {', '.join(sorted(AUTOMATIC_RULES))})")
        for f in ("evidence", "verifiers", "accept"):
            if f in node:
                c.error(f"{where}.{f}", "only verified milestones name evidence, verifiers or accept")
        statuses = node.get("statuses", ["verified"])
        if not isinstance(statuses, list) or not statuses or any(s not in REPORT_STATUSES for s in statuses):
            c.error(f"{where}.statuses", f"must be a list drawn from {sorted(REPORT_STATUSES)}")
            statuses = ["verified"]
        return Milestone(key=key, kind="automatic", name=name, todo=todo, rule=rule, threshold=threshold,
                         statuses=tuple(statuses))
    if kind == "verified":
        evidence = node.get("evidence")
        if evidence not in EVIDENCE_TYPES or evidence == "financial_report":
            c.error(f"{where}.evidence", f"unknown evidence type {evidence!r} (known: licence, marketing, financing)")
        verifiers = node.get("verifiers")
        if not isinstance(verifiers, list) or not verifiers or any(v not in VERIFIER_ROLES for v in verifiers):
            c.error(f"{where}.verifiers", f"must be a non-empty list drawn from {sorted(VERIFIER_ROLES)}")
            verifiers = ["coordinator"]
        accept_node = node.get("accept", {}) or {}
        accept: dict[str, tuple[str, ...]] = {}
        if not isinstance(accept_node, dict):
            c.error(f"{where}.accept", "must be a mapping of field to allowed values")
        else:
            allowed = EVIDENCE_TYPES.get(evidence or "", {})
            for fname, values in accept_node.items():
                if fname not in allowed:
                    c.error(f"{where}.accept.{fname}", f"{evidence} has no field {fname!r} to filter on")
                    continue
                if not isinstance(values, list) or not values or any(v not in allowed[fname] for v in values):
                    c.error(f"{where}.accept.{fname}", f"must be a list drawn from {sorted(allowed[fname])}")
                    continue
                accept[fname] = tuple(values)
        if "rule" in node:
            c.error(f"{where}.rule", "verified milestones take evidence, not a rule")
        return Milestone(key=key, kind="verified", name=name, todo=todo, evidence=evidence, threshold=threshold,
                         verifiers=tuple(verifiers), accept=accept)
    c.error(f"{where}.kind", f"must be 'automatic' or 'verified', got {kind!r}")
    return None


def parse(data: Any, source: str) -> Curriculum:
    """Validate ``data`` (a parsed YAML document); raise CurriculumError naming every problem."""
    c = _Checker(source)
    if not isinstance(data, dict):
        raise CurriculumError([f"{source}: top level: must be a mapping"])
    for extra in set(data) - {"key", "version", "name", "description", "settings", "stages", "partners"}:
        c.error(extra, "unknown field")
    key = c.key(data.get("key"), "key")
    version = data.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool):
        c.error("version", "must be a whole number")
        version = 1
    name = c.text(data.get("name"), "name")
    description = c.text(data.get("description"), "description")
    settings = data.get("settings") or {}
    if not isinstance(settings, dict):
        c.error("settings", "must be a mapping")
        settings = {}
    overdue = settings.get("visit_overdue_days", 30)
    if not isinstance(overdue, int) or isinstance(overdue, bool) or overdue < 1:
        c.error("settings.visit_overdue_days", f"must be a whole number of days of at least 1, got {overdue!r}")
    partners_node = data.get("partners", [])
    partners: list[str] = []
    if not isinstance(partners_node, list) or len(partners_node) > 10 or not all(
            isinstance(p, str) and p.strip() and len(p.strip()) <= 160 for p in partners_node):
        c.error("partners", "must be a list of at most 10 agency names (texts of at most 160 characters)")
    else:
        partners = [" ".join(p.split()) for p in partners_node]
        if len({p.casefold() for p in partners}) != len(partners):
            c.error("partners", "names an agency twice")
    stages_node = data.get("stages")
    stages: list[Stage] = []
    if not isinstance(stages_node, list) or not stages_node:
        c.error("stages", "must be a non-empty list")
        stages_node = []
    seen_stages: set[str] = set()
    for i, snode in enumerate(stages_node, start=1):
        where = f"stage[{i}]"
        if not isinstance(snode, dict):
            c.error(where, "must be a mapping")
            continue
        skey = c.key(snode.get("key"), f"{where}.key")
        where = f"stage[{skey}]"
        for extra in set(snode) - {"key", "name", "description", "milestones", "assessment"}:
            c.error(f"{where}.{extra}", "unknown field")
        assessment = snode.get("assessment") or {}
        if not isinstance(assessment, dict) or set(assessment) - {"questionnaire", "test"}:
            c.error(f"{where}.assessment", "must be a mapping with 'questionnaire' and/or 'test' keys")
            assessment = {}
        for akey, aval in assessment.items():
            c.key(aval, f"{where}.assessment.{akey}")
        if skey in seen_stages:
            c.error(f"{where}.key", "duplicate stage key")
        seen_stages.add(skey)
        mnodes = snode.get("milestones")
        milestones: list[Milestone] = []
        if not isinstance(mnodes, list) or not mnodes:
            c.error(f"{where}.milestones", "must be a non-empty list")
            mnodes = []
        seen_ms: set[str] = set()
        for j, mnode in enumerate(mnodes, start=1):
            m = _milestone(c, mnode, f"{where}.milestone[{j}]")
            if m is None:
                continue
            if m.key in seen_ms:
                c.error(f"{where}.milestone[{m.key}].key", "duplicate milestone key in this stage")
            seen_ms.add(m.key)
            milestones.append(m)
        stages.append(Stage(key=skey, number=i, name=c.text(snode.get("name"), f"{where}.name"),
                            description=c.text(snode.get("description"), f"{where}.description"),
                            milestones=tuple(milestones), questionnaire=assessment.get("questionnaire"),
                            knowledge_test=assessment.get("test")))
    if c.problems:
        raise CurriculumError(c.problems)
    return Curriculum(key=key, version=version, name=name, description=description, stages=tuple(stages),
                      settings=dict(settings), source=source, partners=tuple(partners))


#: libyaml's safe loader where PyYAML was built with it (about ten times faster: every app reads
#: the curricula, designs and questions when it starts), the pure-Python one otherwise
SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    return yaml.load(text, Loader=SafeLoader)  # noqa: S506  (a safe loader)


def read_yaml(path: Path | str) -> Any:
    """A YAML data file's content; an unreadable or invalid file is a CurriculumError naming the place."""
    path = Path(path)
    try:
        return safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise CurriculumError([f"{path}: cannot read: {e.strerror}"]) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
        raise CurriculumError([f"{path}: {at}: not valid YAML: {getattr(e, 'problem', e)}"]) from None


def load_file(path: Path | str) -> Curriculum:
    return parse(read_yaml(path), str(path))


def load_dir(directory: Path | str) -> dict[str, Curriculum]:
    """Every ``*.yaml`` in ``directory``, by key. All problems of all files are reported together."""
    found: dict[str, Curriculum] = {}
    problems: list[str] = []
    files = sorted(Path(directory).glob("*.yaml")) + sorted(Path(directory).glob("*.yml"))
    if not files:
        raise CurriculumError([f"{directory}: no curriculum files (*.yaml)"])
    for path in files:
        try:
            cur = load_file(path)
        except CurriculumError as e:
            problems.extend(e.problems)
            continue
        if cur.key in found:
            problems.append(f"{path}: key: {cur.key!r} is already used by {found[cur.key].source}")
            continue
        found[cur.key] = cur
    if problems:
        raise CurriculumError(problems)
    return found
