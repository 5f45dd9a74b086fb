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

    problems.extend(_card_problems(corpus, docs))
    problems.extend(_vocabulary_problems(corpus))

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


MIN_VARIANTS = 6
ANSWER_SENTENCES = (2, 6)


def _card_problems(corpus: "Corpus", docs: dict) -> list[Problem]:
    """Answer cards: the shape of each card and that every anchor's quote is in its document, word for word.
    (That each sentence is supported by its anchor is checked by tutor.cards.check_cards, which chunks the text.)"""
    from datetime import date

    from tutor.corpus import AUDIENCES, ID_PATTERN, MAX_REVIEW_INTERVAL, TOPICS, locate_quote

    problems: list[Problem] = []
    seen: dict[str, str] = {}
    today = date.today()
    for card in corpus.cards:
        def report(message: str, line: int | None = None) -> None:
            problems.append(Problem(path=card.path, line=line or card.line, message=f"card {card.id}: {message}"))

        if not ID_PATTERN.match(card.id):
            report("id must be lower-case letters, digits and hyphens")
        if card.id in seen:
            report(f"duplicate card id (also in {seen[card.id]})")
        seen.setdefault(card.id, card.path)
        questions = [q.strip().lower() for q in card.questions]
        if len(set(questions)) != len(questions):
            report("the same question is given twice")
        if len(card.variants) < MIN_VARIANTS:
            report(f"give at least {MIN_VARIANTS} other ways clinicians ask it (variants), found {len(card.variants)}")
        low, high = ANSWER_SENTENCES
        if not low <= len(card.answer) <= high:
            report(f"the answer needs {low} to {high} sentences, found {len(card.answer)}")
        for value in card.audience:
            if value not in AUDIENCES:
                report(f"unknown audience '{value}' (see corpus/README.md)")
        for value in card.topics:
            if value not in TOPICS:
                report(f"unknown topic '{value}' (see corpus/README.md)")
        if card.status == "approved" and card.review_due < today:
            report(f"review date passed ({card.review_due.isoformat()}): review the card, then update its dates")
        if card.review_due - card.last_reviewed > MAX_REVIEW_INTERVAL or card.review_due < card.last_reviewed:
            report("review_due must be after last_reviewed and at most 12 months after it")
        for number, sentence in enumerate(card.answer, 1):
            for anchor in sentence.anchors:
                doc = docs.get(anchor.doc)
                if doc is None:
                    report(f"sentence {number}: anchor document '{anchor.doc}' is not in corpus/docs", sentence.line)
                elif card.status == "approved" and doc.status != "approved":
                    report(f"sentence {number}: anchor document '{anchor.doc}' is not approved", sentence.line)
                elif locate_quote(doc.body, anchor.quote) is None:
                    report(f"sentence {number}: the quote is not in {anchor.doc} word for word "
                           f"(\"{anchor.quote[:60]}...\")", sentence.line)
    return problems


def _vocabulary_problems(corpus: "Corpus") -> list[Problem]:
    """corpus/vocabulary.yaml: a mapping with `aliases` (a list of {term, aliases}) and `incidental` (a list)."""
    import yaml

    from tutor.corpus import display_path
    from tutor.vocabulary import VOCABULARY_FILE

    path = corpus.root / VOCABULARY_FILE
    if not path.is_file():
        return []
    name = display_path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return [Problem(path=name, line=mark.line + 1 if mark else 1, message=f"invalid YAML: {exc}")]
    if not isinstance(data, dict):
        return [Problem(path=name, line=1, message="expected a mapping with 'aliases' and 'incidental'")]
    problems = []
    lines = path.read_text(encoding="utf-8").split("\n")
    for group in data.get("aliases") or []:
        term = group.get("term") if isinstance(group, dict) else None
        if not term or not isinstance(group.get("aliases"), list) or not group["aliases"]:
            at = next((i + 1 for i, ln in enumerate(lines) if term and f"term: {term}" in ln), 1)
            problems.append(Problem(path=name, line=at, message="every alias group needs a term and a list of aliases"))
    if not isinstance(data.get("incidental", []), list):
        problems.append(Problem(path=name, line=1, message="'incidental' must be a list of names"))
    return problems
