"""Tutor moves after an answer: pick a check-for-understanding question from the quiz items tied to the documents
just cited; "explain it another way" and "give me an example" from other passages (through the Tutor, so the
answer is cited and screened like any other) and the glossary."""

from __future__ import annotations

import re
from typing import Callable

from tutor.models import Answer, Hit
from tutor.pedagogy.content import TeachingMaterial

_EXAMPLE_CUES = re.compile(
    r"\b(for example|for instance|such as|study|studies|trial|found|case|cases|reported|survey|in (?:19|20)\d\d|"
    r"\d+(?:\.\d+)?%|\d[\d,]*\s+(?:patients|people|radiologists|clinicians|doctors|images|decisions|hospitals))\b",
    re.I)
_EXAMPLE_HEADINGS = re.compile(r"\b(example|case|study|evidence|found|in practice|what happened)\b", re.I)
MAX_GLOSSARY = 3


def check_item(material: TeachingMaterial, answer: Answer, level_of: Callable[[dict], int], answered: set[str],
               due: set[str]) -> dict | None:
    """The quiz item that best checks understanding of an answer: tied to a cited document, preferably to the
    cited section, free text before multiple choice, not yet answered (or due for review), nearest the learner's
    difficulty level. None when the answer cites nothing or no item is tied to what it cites."""
    if answer.refused or answer.abstained or not answer.citations:
        return None
    doc_order = list(dict.fromkeys(c.doc_id for c in answer.citations))
    headings = {(c.doc_id, part.strip()) for c in answer.citations for part in c.heading.split(" > ")}
    candidates = [material.quiz[i] for doc in doc_order for i in material.items_by_doc.get(doc, [])]
    if not candidates:
        return None

    def rank(item: dict) -> tuple:
        fresh = item["id"] not in answered or item["id"] in due
        return ((item["doc"], item.get("section", "")) not in headings, item["type"] != "short", not fresh,
                abs(int(item["difficulty"]) - level_of(item)), doc_order.index(item["doc"]), item["id"])

    return min(candidates, key=rank)


def other_passages(cited: set[str], top_k: int):
    """A `Tutor.ask(passages=...)` chooser: the best retrieved passages not already cited."""
    def choose(hits: list[Hit]) -> list[Hit]:
        return [h for h in hits if h.chunk.id not in cited][:top_k]
    return choose


def example_passages(cited: set[str], top_k: int):
    """A `Tutor.ask(passages=...)` chooser: uncited passages, those that read like worked examples or evidence
    (studies, figures, "for example") first, in retrieval order otherwise."""
    def choose(hits: list[Hit]) -> list[Hit]:
        others = [h for h in hits if h.chunk.id not in cited]
        ranked = sorted(others, key=lambda h: (-example_strength(h), h.rank))
        return ranked[:top_k]
    return choose


def example_strength(hit: Hit) -> int:
    """How much a passage reads like an example: cue phrases in its text, plus one for an example-like heading."""
    return len(_EXAMPLE_CUES.findall(hit.chunk.text)) + (2 if _EXAMPLE_HEADINGS.search(hit.chunk.heading) else 0)


def glossary_for(material: TeachingMaterial, texts: list[str], doc_ids: list[str]) -> list[dict]:
    """Glossary entries whose term appears in the texts, then entries explaining the cited documents; at most three."""
    haystack = " ".join(texts).lower()
    found: list[dict] = []
    for entry in material.glossary:
        term = re.sub(r"\s*\(.*?\)", "", str(entry["term"])).strip().lower()
        if term and re.search(rf"\b{re.escape(term)}(?:s|es)?\b", haystack):
            found.append(entry)
    found.sort(key=lambda e: -len(str(e["term"])))  # the most specific terms first
    for entry in material.glossary:
        if entry["doc"] in doc_ids and entry not in found:
            found.append(entry)
    return found[:MAX_GLOSSARY]


def scenario_for(material: TeachingMaterial, doc_ids: list[str], attempted: set[str]) -> dict | None:
    """A calibration scenario built on the same documents, one the learner has not tried first."""
    matches = [s for s in material.scenarios.values() if set(s.get("docs") or []) & set(doc_ids)]
    if not matches:
        return None
    return min(matches, key=lambda s: (s["id"] in attempted,
                                       min((doc_ids.index(d) for d in s["docs"] if d in doc_ids), default=99), s["id"]))
