"""Load the curated corpus from disk and check it, reporting every problem as file:line: message."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from tutor.identifiers import scan_document
from tutor.models import AnswerCard, Problem, SourceDoc

AUDIENCES = {
    "all", "doctor", "nurse-midwife", "ahp", "pharmacist", "student", "manager-ig",
    "shaper", "driver", "creator", "embedder", "user",
}
TOPICS = {
    "appropriate-confidence", "workforce-education", "automation-bias", "human-factors", "test-accuracy",
    "model-performance", "dataset-shift", "bias-equity", "ethics", "generative-ai", "ambient-scribes", "regulation",
    "medical-devices", "incident-reporting", "standards", "clinical-safety", "information-governance",
    "data-protection", "professional-duties", "international", "procurement", "patient-communication",
}
ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LINK_PATTERN = re.compile(r"\]\((?!https?://|mailto:|#)([^)\s]+?)(?:\.md)?(?:#[^)]*)?\)")
HEADING_PATTERN = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
MAX_REVIEW_INTERVAL = timedelta(days=366)


def normalise_space(text: str) -> str:
    return " ".join(text.split())


def locate_quote(text: str, quote: str) -> tuple[int, int] | None:
    """Where `quote` stands in `text`, word for word: line breaks, repeated spaces and Markdown emphasis (* _ `)
    between words are ignored, nothing else. Returns the (start, end) offsets of the verbatim stretch."""
    words = quote.split()
    if not words:
        return None
    pattern = r"[\s*_`]+".join(re.escape(w.strip("*_`")) for w in words if w.strip("*_`"))
    match = re.search(pattern, text)
    return (match.start(), match.end()) if match else None


# ---------------------------------------------------------------- YAML with line numbers

class _LineLoader(yaml.SafeLoader):
    """A safe loader that records the line of every mapping under the key `__line__`."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    mapping = yaml.SafeLoader.construct_mapping(loader, node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def strip_lines(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: strip_lines(v) for k, v in value.items() if k != "__line__"}
    if isinstance(value, list):
        return [strip_lines(v) for v in value]
    return value


def _yaml_error_line(error: yaml.YAMLError, offset: int = 0) -> int:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    return (mark.line + 1 if mark else 1) + offset


def _yaml_error_text(error: yaml.YAMLError, offset: int = 0) -> str:
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    context = getattr(error, "context", None)
    mark = getattr(error, "context_mark", None)
    if context and mark:  # an unclosed bracket or quote is found lines after it opens: name both lines
        context = f"{context} that starts on line {mark.line + 1 + offset}"
    return f"invalid YAML: {problem}" + (f" ({context})" if context else "")


# ---------------------------------------------------------------- documents

@dataclass
class Corpus:
    """The whole corpus as loaded: documents plus the teaching material that refers to them."""

    root: Path
    docs: list[SourceDoc] = field(default_factory=list)
    glossary: list[dict] = field(default_factory=list)
    quiz: list[dict] = field(default_factory=list)
    scenarios: list[dict] = field(default_factory=list)
    pathways: list[dict] = field(default_factory=list)
    cards: list[AnswerCard] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    digest: str = ""

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    def approved(self) -> list[SourceDoc]:
        return [d for d in self.docs if d.status == "approved"]

    def doc(self, doc_id: str) -> SourceDoc | None:
        return next((d for d in self.docs if d.id == doc_id), None)

    @property
    def version(self) -> str:
        return self.digest[:12]


def display_path(path: Path) -> str:
    """Paths in messages are relative to the working folder when they can be, as editors see them."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _key_line(front_lines: list[str], key: str, first_line: int) -> int:
    for offset, line in enumerate(front_lines):
        if re.match(rf"^{re.escape(key)}\s*:", line):
            return first_line + offset
    return first_line


def _field_line(front_lines: list[str], loc: tuple, first_line: int) -> int:
    """The line of a (possibly nested) field such as sources.1.year, found by walking down from its top key."""
    line = _key_line(front_lines, str(loc[0]), first_line) if loc else first_line
    top = line - first_line
    end = next((i for i in range(top + 1, len(front_lines)) if re.match(r"^[^\s#-]", front_lines[i])), len(front_lines))
    for part in loc[1:]:
        following = range(line - first_line + 1, end)  # stay inside the top-level field
        if isinstance(part, int):  # the part-th item of the outermost list below
            dashes = [i for i in following if front_lines[i].lstrip().startswith("- ")]
            indent = min((len(front_lines[i]) - len(front_lines[i].lstrip()) for i in dashes), default=0)
            items = [i for i in dashes if len(front_lines[i]) - len(front_lines[i].lstrip()) == indent]
            found = items[part] if part < len(items) else None
        else:
            found = next((i for i in following if re.match(rf"^\s*(?:-\s+)?{re.escape(part)}\s*:", front_lines[i])), None)
        if found is None:
            break
        line = first_line + found
    return line


def parse_document(path: Path, raw: bytes, today: date) -> tuple[SourceDoc | None, list[Problem]]:
    """Parse one Markdown document with front matter; return the document (if usable) and its problems."""
    name = display_path(path)
    problems: list[Problem] = []
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [Problem(path=name, line=line, message=f"not UTF-8: byte 0x{raw[exc.start]:02x} cannot be decoded; save the file as UTF-8")]
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return None, [Problem(path=name, line=1, message="missing front matter: the file must start with a line '---'")]
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        return None, [Problem(path=name, line=1, message="front matter is not closed: add a line '---' after it")]
    front_lines = lines[1:end]
    try:
        meta = yaml.safe_load("\n".join(front_lines))
    except yaml.YAMLError as exc:
        return None, [Problem(path=name, line=_yaml_error_line(exc, offset=1), message=_yaml_error_text(exc, offset=1))]
    if not isinstance(meta, dict):
        return None, [Problem(path=name, line=2, message="front matter must be a mapping of fields (key: value)")]
    body = "\n".join(lines[end + 1:])
    body_line = end + 2
    try:
        doc = SourceDoc(**meta, path=name, body=body, body_line=body_line)
    except ValidationError as exc:
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"])
            kind = "missing field" if err["type"] == "missing" else "wrong field"
            detail = "" if err["type"] == "missing" else f": {err['msg']}"
            problems.append(Problem(path=name, line=_field_line(front_lines, err["loc"], 2), message=f"{kind} '{where}'{detail}"))
        return None, problems

    def at(key: str) -> int:
        return _key_line(front_lines, key, 2)

    if not ID_PATTERN.match(doc.id):
        problems.append(Problem(path=name, line=at("id"), message=f"id '{doc.id}' must be lower-case letters, digits and hyphens"))
    if path.stem != doc.id:
        problems.append(Problem(path=name, line=at("id"), message=f"id '{doc.id}' does not match the file name '{path.name}'"))
    for value in doc.audience:
        if value not in AUDIENCES:
            problems.append(Problem(path=name, line=at("audience"), message=f"unknown audience '{value}' (see corpus/README.md)"))
    for value in doc.topics:
        if value not in TOPICS:
            problems.append(Problem(path=name, line=at("topics"), message=f"unknown topic '{value}' (see corpus/README.md)"))
    if not doc.sources:
        problems.append(Problem(path=name, line=at("sources"), message="no sources: cite the original document(s)"))
    for source in doc.sources:
        if not source.url.startswith(("http://", "https://")):
            problems.append(Problem(path=name, line=at("sources"), message=f"source url '{source.url}' is not a web address"))
    if doc.status == "approved" and doc.review_due < today:
        problems.append(Problem(path=name, line=at("review_due"), message=f"review date passed ({doc.review_due.isoformat()}): review the document, then update last_reviewed and review_due"))
    if doc.review_due - doc.last_reviewed > MAX_REVIEW_INTERVAL:
        problems.append(Problem(path=name, line=at("review_due"), message="review_due is more than 12 months after last_reviewed"))
    if doc.review_due < doc.last_reviewed:
        problems.append(Problem(path=name, line=at("review_due"), message="review_due is before last_reviewed"))
    content = [ln for ln in body.split("\n") if ln.strip() and not HEADING_PATTERN.match(ln)]
    if not content:
        problems.append(Problem(path=name, line=body_line, message="empty body: the document has no text under its front matter"))
    return doc, problems


def _link_problems(doc: SourceDoc, known: set[str]) -> list[Problem]:
    problems = []
    for offset, line in enumerate(doc.body.split("\n")):
        for target in LINK_PATTERN.findall(line):
            target_id = Path(target).name
            if target_id not in known:
                problems.append(Problem(path=doc.path, line=doc.body_line + offset, message=f"link to missing document '{target}'"))
    return problems


def _load_yaml_list(path: Path, problems: list[Problem]) -> list[dict]:
    name = display_path(path)
    try:
        raw = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(Problem(path=name, line=1, message=f"not UTF-8: {exc.reason}"))
        return []
    try:
        data = yaml.load(raw, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        problems.append(Problem(path=name, line=_yaml_error_line(exc), message=_yaml_error_text(exc)))
        return []
    if data is None:
        return []
    if not isinstance(data, list):
        problems.append(Problem(path=name, line=1, message="expected a list of items (each starting with '- ')"))
        return []
    items = []
    for item in data:
        if not isinstance(item, dict):
            problems.append(Problem(path=name, line=1, message="every item must be a mapping of fields"))
            continue
        item["__file__"] = name
        items.append(item)
    return items


def _load_cards(path: Path, problems: list[Problem]) -> list[AnswerCard]:
    """Answer cards from one file; each problem names the card's (or the sentence's) line."""
    cards = []
    for item in _load_yaml_list(path, problems):
        name, line = item["__file__"], item.get("__line__", 1)
        sentences = item.get("answer") if isinstance(item.get("answer"), list) else []
        try:
            card = AnswerCard(**strip_lines({k: v for k, v in item.items() if k != "__file__"}), path=name, line=line)
        except ValidationError as exc:
            for err in exc.errors():
                loc = err["loc"]
                where = ".".join(str(p) for p in loc)
                at = line
                if len(loc) > 1 and loc[0] == "answer" and isinstance(loc[1], int) and loc[1] < len(sentences) \
                        and isinstance(sentences[loc[1]], dict):
                    at = sentences[loc[1]].get("__line__", line)
                kind = "missing field" if err["type"] == "missing" else "wrong field"
                detail = "" if err["type"] == "missing" else f": {err['msg']}"
                problems.append(Problem(path=name, line=at, message=f"card {item.get('id', '?')}: {kind} '{where}'{detail}"))
            continue
        for sentence, raw in zip(card.answer, sentences):
            sentence.line = raw.get("__line__", line) if isinstance(raw, dict) else line
        cards.append(card)
    return cards


def headings_of(body: str) -> list[str]:
    return [m.group(2).strip() for ln in body.split("\n") if (m := HEADING_PATTERN.match(ln))]


def load_corpus(root: Path, today: date | None = None) -> Corpus:
    """Load and check everything under `root`. Problems are collected, never raised."""
    today = today or date.today()
    corpus = Corpus(root=root)
    if not root.is_dir():
        corpus.problems.append(Problem(path=str(root), line=1, message="corpus folder not found"))
        return corpus
    digest = hashlib.sha256()
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in {".md", ".yaml", ".yml"} and p.name != "README.md")
    for path in files:
        raw = path.read_bytes()
        digest.update(str(path.relative_to(root)).encode())
        digest.update(raw)
        # Patient identifiers and text addressed to an AI model have no place in any corpus file.
        corpus.problems.extend(Problem(path=display_path(path), line=finding.line, message=finding.message)
                               for finding in scan_document(raw.decode("utf-8", errors="replace")))
    corpus.digest = digest.hexdigest()

    docs_dir = root / "docs"
    seen: dict[str, str] = {}
    for path in sorted(docs_dir.glob("*.md")) if docs_dir.is_dir() else []:
        doc, problems = parse_document(path, path.read_bytes(), today)
        corpus.problems.extend(problems)
        if doc is None:
            continue
        if doc.id in seen:
            id_line = _key_line(path.read_text(encoding="utf-8").split("\n")[1:], "id", 2)
            corpus.problems.append(Problem(path=doc.path, line=id_line, message=f"duplicate id '{doc.id}' (also in {seen[doc.id]})"))
            continue
        seen[doc.id] = doc.path
        corpus.docs.append(doc)
    known = {d.id for d in corpus.docs}
    for doc in corpus.docs:
        corpus.problems.extend(_link_problems(doc, known))

    for sub, target in (("glossary", corpus.glossary), ("quiz", corpus.quiz), ("scenarios", corpus.scenarios)):
        folder = root / sub
        for path in sorted(folder.glob("*.y*ml")) if folder.is_dir() else []:
            target.extend(_load_yaml_list(path, corpus.problems))
    if (root / "pathways.yaml").is_file():
        corpus.pathways.extend(_load_yaml_list(root / "pathways.yaml", corpus.problems))
    answers = root / "answers"
    for path in sorted(answers.glob("*.y*ml")) if answers.is_dir() else []:
        corpus.cards.extend(_load_cards(path, corpus.problems))

    from tutor.content_checks import check_teaching_material  # the teaching material's own rules

    corpus.problems.extend(check_teaching_material(corpus))
    return corpus
