"""Readability checks on an answer's text, deterministic and rule-based: what a reader trips over.

* **dangling opener:** a sentence opens on a connective or a reference whose antecedent is not in the answer
  ("However, ...", "This means ...", "These standards ...", "An error of this kind ...", "Sections 1 to 4 ...");
* **repeat:** two sentences of one answer are near-duplicates (word Jaccard >= `REPEAT_JACCARD`);
* **cross-reference filler:** it sends the reader elsewhere instead of answering ("see ...", "as described in",
  "more on this in", "read more");
* **stance:** a yes/no question ("Can I ...?", "Is it OK to ...?") gets a first sentence that takes a side
  ("no", "only if", "must", "should", "never", ...);
* **words:** how long the answer is, citation markers aside.

Every check reads only the question and the answer's text (with its [n] markers), so a hand-written answer tests it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tutor.evaluation.text import answer_sentences, strip_markers, words

REPEAT_JACCARD = 0.6
REPEAT_MIN_WORDS = 4  # shorter sentences ("Yes.") are not compared

# Openers that only make sense after something: in the first sentence they point at nothing.
CONNECTIVES = (
    "therefore", "however", "also", "as a result", "as such", "thus", "hence", "consequently", "furthermore",
    "moreover", "in addition", "additionally", "similarly", "likewise", "nevertheless", "nonetheless", "instead",
    "otherwise", "in contrast", "by contrast", "on the other hand", "for this reason", "for these reasons",
    "in this case", "in that case", "even so", "but", "and", "so", "then", "meanwhile", "in turn", "in other words",
    "that is", "finally", "secondly", "second", "third", "lastly", "again", "besides",
)
PRONOUNS = ("it", "they", "them", "its", "their", "this", "that", "these", "those", "he", "she", "his", "such")
DETERMINERS = ("this", "that", "these", "those", "such", "the same", "each of these", "all of these", "none of these")
# Definite references to something the reader has not been shown: "The standards ...", "The study ...".
GENERIC_NOUNS = frozenset((
    "standard", "standards", "requirement", "requirements", "principle", "principles", "recommendation",
    "recommendations", "criteria", "study", "studies", "author", "authors", "researchers", "report", "review",
    "framework", "document", "documents", "section", "sections", "list", "table", "figure", "above", "following",
    "former", "latter", "steps", "error", "errors",
))
# After "This" or "These", a verb means a pronoun ("This means ..."), handled as a pronoun, not a noun phrase.
_NOT_NOUNS = frozenset((
    "is", "are", "was", "were", "be", "means", "mean", "can", "could", "may", "might", "will", "would", "should",
    "must", "does", "do", "did", "has", "have", "had", "also", "includes", "include", "applies", "apply", "matters",
    "helps", "help", "makes", "make", "gives", "give", "shows", "show", "suggests", "requires", "require", "happens",
    "covers", "cover", "sets", "set", "explains", "describes", "lets", "allows", "way", "and", "or", "of", "in", "to",
))
# "It is important to check ..." is not a reference: "it" stands for what follows.
_EXPLETIVE_IT = re.compile(r"^it(?: is|'s| was| may be| can be| will be| would be| remains| has been)(?: not)?"
                           r"(?: \w+){1,3} (?:to|that|for|whether|when|if|how)\b")
_STRUCTURE = re.compile(r"^(?:in |see |under )?(?:sections?|paragraphs?|chapters?|parts?|steps?|appendix|annex|"
                        r"tables?|figures?|points?) (?:\d+|[ivx]+\b|[a-z]\b)", re.I)
_OF_THIS_KIND = re.compile(r"^(?:an? |the )?[\w-]+(?: [\w-]+)? of (?:this|that|these|those|such a|the same) "
                           r"(?:kind|type|sort|nature)\b", re.I)

CROSS_REFERENCES = (
    r"\bsee (?:also|below|above|here|more|further|our|section|sections|chapter|page|appendix|annex|part|table|"
    r"figure|the (?:section|sections|guidance|page|box|table|figure|link|full|website|document|glossary|list|"
    r"module|course))\b",
    r"(?:^|[(\[;:,.]\s*)[Ss]ee\s+[\"“']?[A-Z0-9][\w-]*",  # "(see DTAC)", "See Reporting AI incidents."
    r"\bas (?:described|discussed|explained|outlined|set out|noted|mentioned|shown|detailed|covered|summarised) "
    r"(?:in|on|under|above|below|earlier|later|elsewhere)\b",
    r"\bmore (?:on|about) (?:this|that|these|it|them) (?:in|at|on|below|under)\b",
    r"\bread more\b", r"\bfind out more\b", r"\blearn more\b", r"\bfor more (?:information|detail|details)\b",
    r"\b(?:click|visit) (?:here|the link)\b", r"\brefer to (?:the |our )?(?:section|page|document|guidance)\b",
    r"\b(?:the|this|that) \w+ (?:document|page|section|module) (?:explains|describes|covers|sets out)\b",
)
# Case matters only for the bare "see X", which needs a capitalised name after it.
_CROSS_REFERENCES = [re.compile(p, 0 if p.startswith("(?:^") else re.I) for p in CROSS_REFERENCES]

# A yes/no question's last interrogative sentence starts with one of these (after an optional "so", "and", ...).
YES_NO_STARTS = (
    "can", "could", "may", "might", "should", "shall", "is", "are", "was", "were", "do", "does", "did", "must",
    "will", "would", "has", "have", "had", "am", "isn't", "aren't", "don't", "doesn't", "can't", "shouldn't",
    "won't", "wouldn't", "mustn't",
)
_QUESTION_LEAD = re.compile(r"^(?:(?:so|and|but|ok|okay|also|then|now|please|honestly|quick question)[,:]?\s+)+", re.I)
STANCE = (
    r"^(?:yes|no|not|never|only|it depends|that depends)\b", r"\bnot\b", r"n't\b", r"\bnever\b", r"\bno\b",
    r"\bonly (?:if|when|after|with|for|where|once|under|through|within|in|by)\b", r"\bunless\b", r"\bmust\b",
    r"\bshould\b", r"\bcannot\b", r"\bneeds? to\b", r"\bhave to\b", r"\bhas to\b", r"\b(?:is|are) required\b",
    r"\brequires?\b", r"\bmandatory\b", r"\b(?:is|are) (?:allowed|permitted|prohibited|forbidden|acceptable|safe)\b",
    r"\bit depends\b", r"\bdepends on\b", r"\bmay (?:only|not)\b", r"\bcan only\b", r"\bdo(?:es)? not need\b",
    r"\bsafe to\b", r"\bnot (?:allowed|permitted)\b",
)
_STANCE = [re.compile(p, re.I) for p in STANCE]


@dataclass(frozen=True)
class Finding:
    sentence: int  # 1-based
    text: str


def _opener(sentence: str) -> str:
    """The first words of a sentence, lower-case, with markers, quotes and list bullets stripped."""
    text = strip_markers(sentence).lstrip("-*•·–— \"'“‘(").strip()
    return " ".join(text.lower().replace("’", "'").split())


def _starts_with(opener: str, phrases: tuple[str, ...]) -> str | None:
    for phrase in sorted(phrases, key=len, reverse=True):
        if opener == phrase or re.match(rf"{re.escape(phrase)}\b(?!-)", opener):
            return phrase
    return None


def _mentioned(noun: str, earlier: str) -> bool:
    stem = noun[:-1] if len(noun) > 3 and noun.endswith("s") else noun
    return re.search(rf"\b{re.escape(stem)}", earlier) is not None


def dangling_openers(answer: str) -> list[Finding]:
    """Sentences opening on a connective or reference with nothing before it in the answer to point at.

    The first sentence may not open on a connective ("However"), a pronoun ("It", "This") or a reference
    ("Such tools", "The standards", "Sections 1 to 4", "An error of this kind"). A later sentence may open on a
    pronoun or connective (the sentence before is its antecedent) but not on "this/these/such/the + noun" when the
    answer has not mentioned that noun yet, nor on a pointer into a document's structure ("Sections 1 to 4").
    """
    sentences = [strip_markers(s) for s, _ in answer_sentences(answer)]
    found: list[Finding] = []
    earlier = ""
    for index, sentence in enumerate(sentences):
        opener = _opener(sentence)
        first = index == 0
        hit = None
        if _STRUCTURE.match(opener) or _OF_THIS_KIND.match(opener):
            hit = " ".join(opener.split()[:5])
        elif first and (word := _starts_with(opener, CONNECTIVES + PRONOUNS)) and not _EXPLETIVE_IT.match(opener):
            hit = word
        else:
            determiner = _starts_with(opener, DETERMINERS + ("the",))
            rest = opener[len(determiner):].split() if determiner else []
            noun = rest[0].strip(",.;:") if rest else ""
            generic = determiner == "the" and noun in GENERIC_NOUNS
            pointing = determiner not in (None, "the") and bool(noun) and noun not in _NOT_NOUNS \
                and not noun.endswith("ly")
            if (generic or pointing) and (first or not _mentioned(noun, earlier)):
                hit = f"{determiner} {noun}"
        if hit:
            found.append(Finding(index + 1, hit))
        earlier += " " + sentence.lower()
    return found


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def near_duplicates(answer: str, threshold: float = REPEAT_JACCARD) -> list[tuple[int, int, float]]:
    """Pairs of sentences (1-based) whose word sets overlap by at least `threshold` (Jaccard)."""
    sets = [set(words(s)) for s, _ in answer_sentences(answer)]
    pairs = []
    for i in range(len(sets)):
        for j in range(i + 1, len(sets)):
            if min(len(sets[i]), len(sets[j])) >= REPEAT_MIN_WORDS and (score := _jaccard(sets[i], sets[j])) >= threshold:
                pairs.append((i + 1, j + 1, round(score, 2)))
    return pairs


def cross_references(answer: str) -> list[str]:
    """Phrases that send the reader elsewhere instead of answering."""
    text = strip_markers(answer)
    return [m.group(0).strip(" ([;:,.") for pattern in _CROSS_REFERENCES if (m := pattern.search(text))]


def is_yes_no(question: str) -> bool:
    """The last interrogative sentence of the question starts with an auxiliary: "Can I ...?", "Is it OK ...?"."""
    asked = [s for s, _ in answer_sentences(question) if s.rstrip().endswith("?")] or [question]
    lead = _QUESTION_LEAD.sub("", " ".join(asked[-1].replace("’", "'").split())).lower()
    return _starts_with(lead, YES_NO_STARTS) is not None


def takes_stance(answer: str) -> bool:
    """The first sentence says yes, no, only if, must, should, never, not, ..."""
    sentences = answer_sentences(answer)
    first = strip_markers(sentences[0][0]) if sentences else ""
    return any(pattern.search(first) for pattern in _STANCE)


def word_count(answer: str) -> int:
    return len(words(answer))
