"""Rules for the teaching material (glossary, quiz bank, scenarios, pathways): every reference resolves."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tutor.figures import Figures
from tutor.models import Problem

if TYPE_CHECKING:
    from tutor.corpus import Corpus

STATUSES = {"draft", "approved", "retired"}


def _problem(item: dict, message: str) -> Problem:
    return Problem(path=item.get("__file__", "?"), line=item.get("__line__", 1), message=message)


def _missing(item: dict, fields: tuple[str, ...]) -> list[str]:
    return [f for f in fields if item.get(f) in (None, "", [])]


def check_teaching_material(corpus: "Corpus") -> list[Problem]:
    from tutor.corpus import AUDIENCES, ID_PATTERN, headings_of, normalise_space

    docs = {d.id: d for d in corpus.docs}
    bodies = {d.id: normalise_space(d.body) for d in corpus.docs}
    problems: list[Problem] = []

    def doc_ref(item: dict, doc_id: object, what: str = "doc") -> bool:
        if doc_id not in docs:
            problems.append(_problem(item, f"{what} '{doc_id}' is not a document in corpus/docs"))
            return False
        return True

    seen_terms: set[str] = set()
    for item in corpus.glossary:
        for f in _missing(item, ("term", "definition", "doc")):
            problems.append(_problem(item, f"glossary entry is missing '{f}'"))
        term = str(item.get("term", "")).strip().lower()
        if term and term in seen_terms:
            problems.append(_problem(item, f"duplicate glossary term '{item['term']}'"))
        seen_terms.add(term)
        if item.get("doc"):
            doc_ref(item, item["doc"])

    seen_ids: set[str] = set()
    for item in corpus.quiz:
        missing = _missing(item, ("id", "type", "question", "explanation", "difficulty", "topics", "doc", "section", "evidence", "status"))
        for f in missing:
            problems.append(_problem(item, f"quiz item {item.get('id', '?')} is missing '{f}'"))
        qid = str(item.get("id", ""))
        if qid in seen_ids:
            problems.append(_problem(item, f"duplicate quiz id '{qid}'"))
        seen_ids.add(qid)
        if item.get("status") not in STATUSES:
            problems.append(_problem(item, f"quiz item {qid}: status must be one of draft, approved, retired"))
        if item.get("difficulty") not in (1, 2, 3):
            problems.append(_problem(item, f"quiz item {qid}: difficulty must be 1, 2 or 3"))
        kind = item.get("type")
        if kind == "mcq":
            if not item.get("answer"):
                problems.append(_problem(item, f"quiz item {qid}: a multiple-choice item needs an answer"))
            options = item.get("options") or []
            if not 3 <= len(options) <= 5:
                problems.append(_problem(item, f"quiz item {qid}: a multiple-choice item needs 3 to 5 options"))
            if item.get("answer") not in options:
                problems.append(_problem(item, f"quiz item {qid}: the answer is not one of the options, exactly"))
        elif kind == "short":
            if not item.get("key_points"):
                problems.append(_problem(item, f"quiz item {qid}: a short-answer item needs key_points"))
        else:
            problems.append(_problem(item, f"quiz item {qid}: type must be mcq or short"))
        doc_id = item.get("doc")
        if doc_id and doc_ref(item, doc_id):
            if item.get("section") and item["section"] not in headings_of(docs[doc_id].body):
                problems.append(_problem(item, f"quiz item {qid}: section '{item['section']}' is not a heading in {doc_id}"))
            evidence = normalise_space(str(item.get("evidence", "")))
            if evidence and evidence not in bodies[doc_id]:
                problems.append(_problem(item, f"quiz item {qid}: evidence is not in the text of {doc_id}, so the document does not support the answer"))

    seen_ids = set()
    for item in corpus.scenarios:
        for f in _missing(item, ("id", "title", "vignette", "figures", "question", "expected", "model_answer", "teaching_points", "docs", "status")):
            problems.append(_problem(item, f"scenario {item.get('id', '?')} is missing '{f}'"))
        sid = str(item.get("id", ""))
        if sid in seen_ids:
            problems.append(_problem(item, f"duplicate scenario id '{sid}'"))
        seen_ids.add(sid)
        for doc_id in item.get("docs") or []:
            doc_ref(item, doc_id, what=f"scenario {sid} cites")
        fig, expected = item.get("figures") or {}, item.get("expected") or {}
        try:
            figures = Figures(float(fig["sensitivity"]), float(fig["specificity"]), float(fig["prevalence"]))
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(_problem(item, f"scenario {sid}: figures need sensitivity, specificity and prevalence as fractions ({exc})"))
            continue
        for name in ("ppv", "npv"):
            stated, true = expected.get(name), getattr(figures, name)
            if stated is None or abs(float(stated) - true) > 0.0015:
                problems.append(_problem(item, f"scenario {sid}: expected {name} is {stated}, but the figures give {true:.3f}"))

    seen_ids = set()
    for item in corpus.pathways:
        for f in _missing(item, ("id", "title", "kind", "audience", "steps")):
            problems.append(_problem(item, f"pathway {item.get('id', '?')} is missing '{f}'"))
        pid = str(item.get("id", ""))
        if pid in seen_ids:
            problems.append(_problem(item, f"duplicate pathway id '{pid}'"))
        seen_ids.add(pid)
        if pid and not ID_PATTERN.match(pid):
            problems.append(_problem(item, f"pathway id '{pid}' must be lower-case letters, digits and hyphens"))
        if item.get("audience") and item["audience"] not in AUDIENCES:
            problems.append(_problem(item, f"pathway {pid}: unknown audience '{item['audience']}'"))
        for step in item.get("steps") or []:
            if not isinstance(step, dict) or not step.get("doc") or not step.get("objective"):
                problems.append(_problem(item, f"pathway {pid}: every step needs a doc and an objective"))
                continue
            doc_ref({"__file__": item.get("__file__"), "__line__": step.get("__line__", item.get("__line__", 1))}, step["doc"], what=f"pathway {pid} step")
    return problems
