"""Questions as data: curricula/questionnaires/*.yaml, validated into frozen dataclasses.

Two kinds of file:

* ``kind: feedback``: a session feedback form: 1–5 scales (``overall``, ``content`` …), one scale
  asked for each speaker of the session, and an optional free text;
* ``kind: test``: a multiple-choice knowledge test with exactly one correct answer per question,
  taken before a session (pre-test) and after check-in (post-test).

A curriculum stage names them (``assessment: {questionnaire: …, test: …}``);
:func:`check_references` verifies that every name exists and is of the right kind. Nothing
here imports Flask: the start-up check and ``flask --app lms curriculum check`` both use it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


from ..programme.curriculum import Curriculum, CurriculumError, Text, _Checker, read_yaml

KINDS = ("feedback", "test")
#: the lowest and highest point of every feedback scale
SCALE_MIN, SCALE_MAX = 1, 5
#: a speaker's rating is stored under this item key (with the speaker's id)
SPEAKER_ITEM = "speaker"
DIRECTORY = "questionnaires"


@dataclass(frozen=True)
class Scale:
    key: str
    text: Text


@dataclass(frozen=True)
class Questionnaire:
    key: str
    title: Text
    scales: tuple[Scale, ...]
    speaker_text: Text
    comment_text: Text | None
    source: str
    kind: str = "feedback"

    @property
    def scale_keys(self) -> tuple[str, ...]:
        return tuple(s.key for s in self.scales)


@dataclass(frozen=True)
class Question:
    key: str
    topic: Text
    text: Text
    options: tuple[Text, ...]
    #: index (0-based) of the correct option
    correct: int


@dataclass(frozen=True)
class KnowledgeTest:
    key: str
    title: Text
    questions: tuple[Question, ...]
    pass_threshold: float
    source: str
    kind: str = "test"

    def question(self, key: str) -> Question:
        for q in self.questions:
            if q.key == key:
                return q
        raise KeyError(key)


Assessment = Questionnaire | KnowledgeTest


def _questionnaire(c: _Checker, data: dict[str, Any], key: str, title: Text) -> Questionnaire:
    for extra in set(data) - {"key", "kind", "title", "scales", "speaker", "comment"}:
        c.error(extra, "unknown field")
    scales: list[Scale] = []
    nodes = data.get("scales")
    if not isinstance(nodes, list) or not nodes:
        c.error("scales", "must be a non-empty list")
        nodes = []
    for i, node in enumerate(nodes, start=1):
        if not isinstance(node, dict):
            c.error(f"scales[{i}]", "must be a mapping with key and text")
            continue
        for extra in set(node) - {"key", "text"}:
            c.error(f"scales[{i}].{extra}", "unknown field")
        skey = c.key(node.get("key"), f"scales[{i}].key")
        if skey == SPEAKER_ITEM:
            c.error(f"scales[{i}].key", f"{SPEAKER_ITEM!r} is reserved for the speakers' scale")
        if skey in {s.key for s in scales}:
            c.error(f"scales[{skey}].key", "duplicate scale key")
        scales.append(Scale(skey, c.text(node.get("text"), f"scales[{skey}].text")))
    speaker = data.get("speaker")
    if not isinstance(speaker, dict) or set(speaker) != {"text"}:
        c.error("speaker", "must be a mapping with a 'text'")
        speaker = {}
    comment = data.get("comment")
    comment_text = None
    if comment is not None:
        if not isinstance(comment, dict) or set(comment) != {"text"}:
            c.error("comment", "must be a mapping with a 'text'")
        else:
            comment_text = c.text(comment.get("text"), "comment.text")
    return Questionnaire(key=key, title=title, scales=tuple(scales),
                         speaker_text=c.text(speaker.get("text"), "speaker.text"), comment_text=comment_text,
                         source=c.source)


def _test(c: _Checker, data: dict[str, Any], key: str, title: Text) -> KnowledgeTest:
    for extra in set(data) - {"key", "kind", "title", "questions", "pass_threshold"}:
        c.error(extra, "unknown field")
    threshold = data.get("pass_threshold", 0.7)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold <= 1:
        c.error("pass_threshold", f"must be a share between 0 and 1 (e.g. 0.7), got {threshold!r}")
        threshold = 0.7
    questions: list[Question] = []
    nodes = data.get("questions")
    if not isinstance(nodes, list) or not nodes:
        c.error("questions", "must be a non-empty list")
        nodes = []
    for i, node in enumerate(nodes, start=1):
        where = f"questions[{i}]"
        if not isinstance(node, dict):
            c.error(where, "must be a mapping")
            continue
        for extra in set(node) - {"key", "topic", "text", "options", "correct"}:
            c.error(f"{where}.{extra}", "unknown field")
        qkey = c.key(node.get("key"), f"{where}.key")
        where = f"questions[{qkey}]"
        if qkey in {q.key for q in questions}:
            c.error(f"{where}.key", "duplicate question key")
        text = c.text(node.get("text"), f"{where}.text")
        topic = c.text(node.get("topic"), f"{where}.topic") if "topic" in node else text
        onodes = node.get("options")
        if not isinstance(onodes, list) or not 2 <= len(onodes) <= 6:
            c.error(f"{where}.options", "must list 2 to 6 options")
            onodes = []
        options = tuple(c.text(o, f"{where}.options[{j}]") for j, o in enumerate(onodes, start=1))
        correct = node.get("correct")
        if isinstance(correct, bool) or not isinstance(correct, int) or not 1 <= correct <= max(len(options), 1):
            c.error(f"{where}.correct", f"must be the number (from 1) of the one correct option, got {correct!r}")
            correct = 1
        if len({o.id.casefold() for o in options}) != len(options):
            c.error(f"{where}.options", "two options have the same text")
        questions.append(Question(key=qkey, topic=topic, text=text, options=options, correct=correct - 1))
    return KnowledgeTest(key=key, title=title, questions=tuple(questions), pass_threshold=float(threshold),
                         source=c.source)


def parse(data: Any, source: str) -> Assessment:
    """Validate one parsed file; raise CurriculumError naming every problem."""
    c = _Checker(source)
    if not isinstance(data, dict):
        raise CurriculumError([f"{source}: top level: must be a mapping"])
    key = c.key(data.get("key"), "key")
    title = c.text(data.get("title"), "title")
    kind = data.get("kind")
    result: Assessment | None = None
    if kind == "feedback":
        result = _questionnaire(c, data, key, title)
    elif kind == "test":
        result = _test(c, data, key, title)
    else:
        c.error("kind", f"must be one of {list(KINDS)}, got {kind!r}")
    if c.problems or result is None:
        raise CurriculumError(c.problems)
    return result


def load_file(path: Path | str) -> Assessment:
    return parse(read_yaml(path), str(path))


def load_dir(directory: Path | str) -> dict[str, Assessment]:
    """Every questionnaire and test in ``directory`` (may be missing: then none), by key."""
    found: dict[str, Assessment] = {}
    problems: list[str] = []
    directory = Path(directory)
    files = sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml")) if directory.is_dir() else []
    for path in files:
        try:
            a = load_file(path)
        except CurriculumError as e:
            problems.extend(e.problems)
            continue
        if a.key in found:
            problems.append(f"{path}: key: {a.key!r} is already used by {found[a.key].source}")
            continue
        found[a.key] = a
    if problems:
        raise CurriculumError(problems)
    return found


def check_references(curricula: dict[str, Curriculum], assessments: dict[str, Assessment]) -> None:
    """Every stage's ``assessment`` names an existing questionnaire / test of the right kind."""
    problems: list[str] = []
    for cur in curricula.values():
        for stage in cur.stages:
            for name, want in ((stage.questionnaire, "feedback"), (stage.knowledge_test, "test")):
                if name is None:
                    continue
                found = assessments.get(name)
                field = "questionnaire" if want == "feedback" else "test"
                if found is None:
                    problems.append(f"{cur.source}: stage[{stage.key}].assessment.{field}: no file in "
                                    f"{DIRECTORY}/ has key {name!r}")
                elif found.kind != want:
                    problems.append(f"{cur.source}: stage[{stage.key}].assessment.{field}: {name!r} is a "
                                    f"{found.kind}, not a {want}")
    if problems:
        raise CurriculumError(problems)


def load_all(curricula_dir: Path | str, curricula: dict[str, Curriculum]) -> dict[str, Assessment]:
    """The questionnaires beside the curricula, checked against them (CurriculumError on any problem)."""
    found = load_dir(Path(curricula_dir) / DIRECTORY)
    check_references(curricula, found)
    return found
