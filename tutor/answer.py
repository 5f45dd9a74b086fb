"""The extractive grounded answerer: composes an answer to the question asked from sentences of the top passages.

The composer reads the question first (`QuestionFocus`): what kind of answer it wants (a definition, a yes or no, a
list, a who or where, a when or how many, a comparison, a reason, steps), and which names, acronyms and numbers it
turns on. It then scores the passages' sentences by meaning (their embeddings are computed at index time) and words,
leads with the sentence shaped like the answer, keeps every sentence about the question, brings the antecedent of a
sentence that opens on "This" or "It" (or leaves it out), drops near-duplicates and cross-references, and cites
each sentence. When the guidance does not cover the question's focus it abstains and says what it does cover.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from tutor.chunking import Sentence
from tutor.models import ABSTAIN_TEXT, Chunk, Citation, Hit, SourceDoc
from tutor.retrieval import tokenize
from tutor.settings import AnswerSettings, RetrievalSettings
from tutor.vocabulary import Vocabulary

# ---------------------------------------------------------------- reading the question

# A greeting or the asker's role in front of the question: kept out of matching, so "GP registrar here: why ..."
# is matched as "why ...". Grammar, not a word list: any role fits the slots.
_PREAMBLES = (
    re.compile(r"^(?:hi|hello|hey|morning|afternoon|evening|quick question|question)\b[\s,!.:;-]*", re.I),
    re.compile(r"^(?:i am|i'm|im|as|speaking as|i work as)\s+(?:an?|the|one of the)?\s*(?:[A-Za-z/&'-]+\s*){1,5}?"
               r"(?:\s+(?:here|in|at|on|working)(?:\s+[A-Za-z/&'-]+){0,4})?\s*[,.:;!-]+\s*", re.I),
    re.compile(r"^(?:[A-Za-z/&'-]+\s+){1,4}here\s*[,.:;!-]+\s*", re.I),
    re.compile(r"^(?:i work (?:in|at|on)|working (?:in|at|on))(?:\s+[A-Za-z/&'-]+){1,5}\s*[,.:;!-]+\s*", re.I),
    re.compile(r"^(?:please|pls|can you tell me|could you tell me|do you know)\b[\s,:]*", re.I),
)
_SPECIFIC = re.compile(r"\b(?:[A-Z][A-Za-z0-9&'-]*[A-Za-z0-9]|[A-Z]|\d{2,}(?:[.,]\d+)*)\b")
_COMMON_CAPITALISED = frozenset({"i", "what", "how", "why", "when", "where", "who", "which", "can", "could", "should",
                                 "is", "are", "do", "does", "did", "will", "would", "tell", "explain", "and", "but",
                                 "so", "if", "my", "our", "the", "a", "an", "in", "on", "for", "to", "please", "hi",
                                 "hello", "ok", "okay", "also", "then", "give", "describe", "list", "define", "name",
                                 "show", "help", "thanks", "thank", "yes", "no", "we", "you", "it", "this", "that",
                                 "am", "may", "must", "has", "have", "any", "as", "at", "i'm", "im", "there"})

# Question kinds, by their grammar.
DEFINITION, YES_NO, HOW_TO, LIST, WHO_WHERE, WHEN_COUNT, COMPARISON, WHY, OTHER = (
    "definition", "yes-no", "how-to", "list", "who-where", "when-count", "comparison", "why", "other")
_NUMBER_WORDS = r"(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\d+)"
_KINDS = (
    (COMPARISON, re.compile(r"\bdifferen(?:ce|t) (?:between|from)\b|\bcompare[sd]?\b|\bversus\b|\bvs\.?\s|"
                            r"\bthe same (?:as|thing)\b|\bhow does .+ differ\b", re.I)),
    (LIST, re.compile(rf"^(?:list|name)\b|^what are the {_NUMBER_WORDS}\b|^(?:what|which) are the (?:main |key )?"
                      rf"\w+s\b(?! of\b)|\bwhat (?:\w+ ){{0,3}}(?:does|do) .+ (?:include|cover|set out|list)\b|"
                      rf"^(?:what|which) (?:are )?(?:the )?{_NUMBER_WORDS} \w+s\b", re.I)),
    (WHEN_COUNT, re.compile(r"^(?:when|what year|what date|since when|how (?:many|much|long|often|soon|big|"
                            r"accurate)|what (?:percentage|proportion|share|number|fraction))\b", re.I)),
    (WHO_WHERE, re.compile(r"^(?:who|whom|where|which (?:organisation|body|bodies|regulator|team|person))\b|"
                           r"\bwho (?:do|should|can|must) (?:i|we)\b|\bwhere (?:do|should|can) (?:i|we)\b|"
                           r"\bwho is (?:responsible|accountable|liable)\b", re.I)),
    (WHY, re.compile(r"^why\b", re.I)),
    (HOW_TO, re.compile(r"^how (?:do|can|should|would|could) (?:i|we|you|staff|clinicians)\b|^what (?:should|do|must)"
                        r" (?:i|we) do\b|\bsteps\b|^how to\b", re.I)),
    (YES_NO, re.compile(r"^(?:(?:and|so|but|ok|okay)[, ]+)?(?:can|could|may|might|should|shall|is|are|am|was|were|"
                        r"do|does|did|will|would|must|has|have|need)\b", re.I)),
    (DEFINITION, re.compile(r"^(?:what|who)(?:'s| is| are| was| were)\b|^what does .+ mean\b|^define\b|"
                            r"^(?:the )?meaning of\b|^what do (?:we|you|they|people) mean by\b", re.I)),
    (WHY, re.compile(r"\bwhy (?:does|do|is|are|should|would|might)\b", re.I)),
)
# Shapes of sentences that answer each kind.
_SHAPES = {
    DEFINITION: re.compile(r"^[^.;:]{0,80}?\b(?:is|are|means|refers to|describes|is defined as|is the|are the)\b",
                           re.I),
    YES_NO: re.compile(r"\b(?:must|must not|should|should not|shouldn't|cannot|can't|can|may|may not|never|only|not|no|"
                       r"yes|need|needs|required|requires|allowed|permitted|do not|does not|don't|unless|without)\b",
                       re.I),
    WHEN_COUNT: re.compile(r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|half|third|quarter|most|"
                           r"majority|minority|none|all)\b", re.I),
    WHO_WHERE: re.compile(r"\b(?:[A-Z]{2,}|[A-Z][a-z]+ (?:[A-Z][a-z]+ ?)+)\b|\breport(?:ed|ing)? (?:to|through|via|"
                          r"using)\b|\b(?:responsib|accountab|liab)\w*\b"),
    WHY: re.compile(r"\bbecause\b|\bso that\b|\bwhich means\b|\bmatters?\b|\brisks?\b|\bcan lead\b|\bleads? to\b|"
                    r"\bin order to\b|\bcause[sd]?\b|\bresult(?:s|ed)? in\b", re.I),
    HOW_TO: re.compile(r"^(?:check|ask|use|make|keep|tell|report|record|read|follow|contact|confirm|make sure|ensure|"
                       r"avoid|do not|never|start|first)\b|\bshould\b|\bneeds? to\b|\bmust\b", re.I),
    COMPARISON: re.compile(r"\bwhereas\b|\bwhile\b|\bunlike\b|\bboth\b|\bdiffer\w*\b|\bcompared\b|\bthan\b|"
                           r"\bon the other hand\b|\binstead\b", re.I),
    LIST: re.compile(rf":\s*$|\b{_NUMBER_WORDS}\s+(?:[\w-]+\s+){{0,3}}[a-z]+s\b", re.I),
}
_ANNOUNCES_LIST = re.compile(rf":\s*$|\b{_NUMBER_WORDS}\s+(?:[\w-]+\s+){{0,3}}[a-z]{{3,}}s\b(?!\s+(?:ago|old|later))",
                             re.I)
_ASKS_COUNT = re.compile(r"^(?:(?:and|so|but) )?(?:how many|how much|what (?:percentage|proportion|share|number|"
                         r"fraction))\b", re.I)
# A question about what something costs is only answered by an amount of money.
_ASKS_MONEY = re.compile(r"\b(?:cost|costs|costing|price|priced|pay|pays|paid|charge|charged|fee|fees|fund|funding|"
                         r"funded|budget|spend|spent|money|worth)\b", re.I)
_MONEY = re.compile(r"[£$€]|\b(?:million|billion|pounds?|dollars?|euros?)\b", re.I)
_QUANTITY = re.compile(r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|half|third|quarter|most|majority|"
                       r"minority|few|none|all)\b", re.I)

# ---------------------------------------------------------------- reading a sentence

# A sentence that opens on something said before it: a reference, a connective, or "also" in its first words.
_DANGLING = re.compile(
    r"^(?:this|these|that|those|it|its|they|their|them|such|therefore|thus|hence|however|also|so|but|and|or|"
    r"instead|otherwise|likewise|similarly|conversely|nevertheless|nonetheless|meanwhile|moreover|furthermore|"
    r"in addition|in contrast|in turn|as a result|as such|for this reason|for that reason|in this case|in that case|"
    r"in these cases|both|neither|either|the latter|the former|the same|here|above|below|again|then|too|yet)\b"
    r"|^(?:an?|the|this|that|these|those)\s+(?:\w+\s+){0,3}(?:of this|of that|like this|like that|of these)\b"
    r"|^(?:an?|the)\s+(?:same|above|following|latter|former|other|remaining|second|third|next|last)\b"
    r"|^(?:according to|in|on|for|from|under|by|with|despite|after|before|like|unlike) (?:the same|these|those|this|"
    r"that|them|it|such|both|either|each)\b"
    r"|^(?:sections?|parts?|chapters?|steps?|tables?|figures?|annex(?:es)?|appendix|appendices)\s+\d"
    r"|^(?:\S+\s+){1,3}(?:also|too|therefore|thus|then|again|instead|however|as well)\b"
    r"(?!\s+(?:called|known|termed|referred|named))",
    re.I)
# A pointer to another document or section, not an answer.
_CROSS_REFERENCE = re.compile(
    r"^(?:see|read|for (?:more|further|details)|more (?:on|about|detail)|find out more|further information)\b|"
    r"\b(?:as|is|are|were|was) (?:described|explained|covered|set out|discussed|outlined|detailed) (?:in|under|on)\b|"
    r"\b(?:described|explained|covered|set out|discussed) (?:in more detail|further) in\b|"
    r"\((?:see|cf\.?) [^)]*\)\s*\.?$|\bsee (?:the |our )?(?:section|document|guide|page|chapter|\[)", re.I)


def specific_terms(question: str) -> set[str]:
    """Names, acronyms and numbers in a question: the words an answer must be about to be an answer.
    A capitalised word that opens a sentence ("According to ...") is a name only if it is an acronym."""
    terms = set()
    for match in _SPECIFIC.finditer(question):
        term = match.group(0).split("'")[0]
        opens = not question[:match.start()].strip() or question[:match.start()].rstrip()[-1:] in ".?!:;-"
        if opens and term[:1].isupper() and not term.isupper() and not any(ch.isdigit() for ch in term):
            continue
        terms.add(term)
    return {t for t in terms if t and t.lower() not in _COMMON_CAPITALISED}


def covers(term: str, haystack: str) -> bool:
    needle = term.lower()
    if needle in haystack:
        return True
    return len(needle) > 3 and needle.endswith("s") and needle[:-1] in haystack


def strip_preamble(question: str) -> str:
    """The question without a greeting or the asker's role in front of it."""
    text = question.strip()
    for _ in range(3):
        before = text
        for pattern in _PREAMBLES:
            stripped = pattern.sub("", text, count=1).strip()
            # a "preamble" that swallows the whole question is the question
            if stripped != text and tokenize(stripped) and re.search(r"[A-Za-z]{2}", stripped):
                text = stripped[0].upper() + stripped[1:]
        if text == before:
            break
    return text


def question_kind(text: str) -> str:
    """The kind of answer wanted, read from the question itself: the last sentence ending in "?" when the message
    sets the scene first ("I'm a consultant with 20 years' experience. Does that protect me?")."""
    asked = [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s.endswith("?")]
    text = asked[-1] if asked else text.strip()
    for kind, pattern in _KINDS:
        if pattern.search(text):
            return kind
    return OTHER


def is_dangling(sentence: str) -> bool:
    return bool(_DANGLING.match(sentence.strip().lstrip("\"'“(")))


def is_cross_reference(sentence: str) -> bool:
    return bool(_CROSS_REFERENCE.search(sentence.strip()))


@dataclass
class QuestionFocus:
    """What a question asks: its core (without greeting or role), its kind, and the terms it turns on."""

    asked: str
    core: str
    kind: str
    terms: set[str] = field(default_factory=set)
    vocabulary: Vocabulary | None = None

    @classmethod
    def of(cls, question: str, vocabulary: Vocabulary | None = None) -> "QuestionFocus":
        core = strip_preamble(question)
        terms = specific_terms(core)
        if vocabulary is not None:
            terms = {t for t in terms if not vocabulary.is_incidental(t)}
        return cls(question, core, question_kind(core), terms, vocabulary)

    def terms_covered(self, haystack: str) -> bool:
        """Every term the question turns on (or one of its aliases) is in the text."""
        haystack = haystack.lower()
        for term in self.terms:
            names = self.vocabulary.equivalents(term) if self.vocabulary is not None else {term}
            if not any(covers(name, haystack) for name in names):
                return False
        return True


# ---------------------------------------------------------------- composing

@dataclass
class Draft:
    """What an answerer produces before safety and stamping: the text with [n] markers and its citations."""

    text: str
    citations: list[Citation]
    abstained: bool
    support: float
    source: str = "extractive"
    card_id: str | None = None
    passages: list[str] = field(default_factory=list)  # chunk ids it drew on that retrieval did not return


@dataclass
class _Candidate:
    hit: Hit
    sentence: Sentence
    similarity: float
    score: float
    vector: np.ndarray
    terms: frozenset[str]
    relevance: float = 0.0  # similarity in meaning plus the question's words it shares: is it about the question?

    @property
    def key(self) -> tuple[str, int]:
        return (self.hit.chunk.id, self.sentence.index)


class ExtractiveAnswerer:
    name = "extractive"
    conversational = False  # follow-ups reach it already made standalone

    def __init__(self, index, docs: dict[str, SourceDoc], settings: RetrievalSettings,
                 answer: AnswerSettings | None = None, vocabulary: Vocabulary | None = None):
        self.index = index
        self.docs = docs
        self.settings = settings
        self.answer = answer or AnswerSettings()
        self.vocabulary = vocabulary

    def candidates(self, question: str, query_vector: np.ndarray, hits: list[Hit],
                   focus: QuestionFocus | None = None) -> list[_Candidate]:
        focus = focus or QuestionFocus.of(question, self.vocabulary)
        query_terms = set(tokenize(focus.core))
        shape = _SHAPES.get(focus.kind)
        a = self.answer
        out: list[_Candidate] = []
        for hit in hits:
            sentences = self.index.sentences.get(hit.chunk.id, [])
            vectors = self.index.sentence_vectors.get(hit.chunk.id)
            if vectors is None or not sentences:
                continue
            similarities = vectors @ query_vector
            for sentence, vector, similarity in zip(sentences, vectors, similarities):
                if sentence.words < a.min_words or is_cross_reference(sentence.display):
                    continue
                terms = frozenset(tokenize(sentence.display))
                overlap = len(query_terms & terms) / len(query_terms) if query_terms else 0.0
                score = float(similarity) + a.word_overlap_weight * overlap + a.rank_bonus / (1 + hit.rank)
                if shape is not None and shape.search(sentence.display if focus.kind != DEFINITION
                                                      else sentence.display[:90]):
                    score += a.type_bonus
                if sentence.words > a.long_sentence_words:
                    score -= a.long_sentence_penalty
                out.append(_Candidate(hit, sentence, float(similarity), score, vector, terms,
                                      float(similarity) + a.word_overlap_weight * overlap))
        return out

    def compose(self, question: str, query_vector: np.ndarray, hits: list[Hit],
                allowed: set[str] | None = None) -> Draft:
        """`allowed` (the passages a filter or tutor move admits) is already applied to `hits`."""
        focus = QuestionFocus.of(question, self.vocabulary)
        candidates = self.candidates(question, query_vector, hits, focus)
        if not candidates:
            return self.abstain(hits, 0.0)
        candidates.sort(key=lambda c: -c.score)
        support = max(c.similarity for c in candidates)
        if support < self.settings.min_support:
            return self.abstain(hits, support)
        # Similar wording is not an answer: a name, acronym or number the question turns on must be in the passages.
        haystack = " ".join(f"{h.chunk.title} {h.chunk.heading} {h.chunk.text}" for h in hits)
        if not focus.terms_covered(haystack):
            return self.abstain(hits, support)
        chosen = self.select(focus, candidates)
        chosen = self.with_antecedents(chosen, candidates, query_vector)
        if not chosen:  # every pick leaned on a sentence it could not bring: the best that stands alone
            standing = [c for c in candidates if not is_dangling(c.sentence.display)
                        and c.similarity >= self.settings.min_support]
            if not standing:
                return self.abstain(hits, support)
            chosen = standing[:1]
        chosen = self.continue_lists(chosen, candidates, query_vector)
        shown = " ".join(c.sentence.display for c in chosen)
        if _ASKS_COUNT.search(focus.core) and (not _QUANTITY.search(shown) or
                                               (_ASKS_MONEY.search(focus.core) and not _MONEY.search(shown))):
            return self.abstain(hits, support)
        return self.draft(self.order(focus, chosen), support)

    def stream(self, question: str, query_vector: np.ndarray, hits: list[Hit], allowed: set[str] | None = None):
        """Nothing to stream: the whole answer at once."""
        yield self.compose(question, query_vector, hits)

    # -------------------------------------------------------- choosing sentences

    def _duplicate(self, a: _Candidate, b: _Candidate) -> bool:
        if float(a.vector @ b.vector) > self.answer.duplicate_similarity:
            return True
        smaller = min(len(a.terms), len(b.terms)) or 1
        return len(a.terms & b.terms) / smaller >= self.answer.duplicate_overlap and \
            len(a.terms & b.terms) >= 4 and abs(len(a.terms) - len(b.terms)) <= max(len(a.terms), len(b.terms))

    def select(self, focus: QuestionFocus, candidates: list[_Candidate]) -> list[_Candidate]:
        """Greedy choice (maximal marginal relevance): best score first, then favour sentences that cover parts of
        the question not yet covered (both halves of "who chaired it and when?"), skipping near-duplicates and
        sentences not about the question (similarity too far below the best)."""
        a = self.answer
        query_terms = set(tokenize(focus.core))
        best_score = candidates[0].score
        best_relevance = max(c.relevance for c in candidates)
        eligible = [c for c in candidates
                    if c.score >= best_score - a.score_window
                    and c.relevance >= best_relevance - a.focus_margin
                    and c.similarity >= self.settings.min_support * 0.8]
        chosen: list[_Candidate] = []
        covered: set[str] = set()
        words = 0
        while eligible and len(chosen) < self.settings.max_sentences and words < a.max_words:
            def gain(c: _Candidate) -> float:
                fresh = (c.terms & query_terms) - covered
                return c.score + (a.coverage_gain * len(fresh) / len(query_terms) if query_terms and chosen else 0.0)
            pick = max(eligible, key=gain)
            eligible.remove(pick)
            if any(self._duplicate(pick, c) for c in chosen):
                continue
            chosen.append(pick)
            covered |= pick.terms & query_terms
            words += pick.sentence.words
        return chosen

    def with_antecedents(self, chosen: list[_Candidate], candidates: list[_Candidate],
                         query_vector: np.ndarray) -> list[_Candidate]:
        """A sentence that opens on "This", "It", "Therefore" ... is shown after the sentence it leans on, or not
        at all: never alone."""
        by_position = {c.key: c for c in candidates}
        keys = {c.key for c in chosen}
        out: list[_Candidate] = []
        for candidate in chosen:
            if not is_dangling(candidate.sentence.display):
                out.append(candidate)
                continue
            chunk_id, index = candidate.key
            if (chunk_id, index - 1) in keys:
                out.append(candidate)
                continue
            before = by_position.get((chunk_id, index - 1))
            if before is None:
                before = self._sentence(candidate.hit, index - 1, query_vector)
            if before is None or is_dangling(before.sentence.display) or is_cross_reference(before.sentence.display) \
                    or before.similarity < self.answer.antecedent_similarity:
                continue  # nothing to lean on: leave it out
            if any(self._duplicate(before, c) for c in out):
                continue
            out.extend([before, candidate])
            keys.add(before.key)
        # keep one of each sentence, in the order chosen
        seen: set[tuple[str, int]] = set()
        return [c for c in out if not (c.key in seen or seen.add(c.key))]

    def _sentence(self, hit: Hit, index: int, query_vector: np.ndarray) -> _Candidate | None:
        """A sentence of a retrieved passage that was not a candidate (too short, say), scored as one."""
        sentences = self.index.sentences.get(hit.chunk.id, [])
        vectors = self.index.sentence_vectors.get(hit.chunk.id)
        if index < 0 or vectors is None or index >= len(sentences):
            return None
        similarity = float(vectors[index] @ query_vector)
        return _Candidate(hit, sentences[index], similarity, similarity, vectors[index],
                          frozenset(tokenize(sentences[index].display)))

    def continue_lists(self, chosen: list[_Candidate], candidates: list[_Candidate],
                       query_vector: np.ndarray) -> list[_Candidate]:
        """A sentence that announces a list ("sets out six principles", "the ten questions:") is followed by the
        sentences after it in the same passage, so the answer gives the list and not just its lead-in."""
        by_position = {c.key: c for c in candidates}
        for candidate in chosen:
            if not _ANNOUNCES_LIST.search(candidate.sentence.display):
                continue
            chunk_id = candidate.hit.chunk.id
            listed = [candidate]
            for index in range(candidate.sentence.index + 1,
                               candidate.sentence.index + 1 + self.answer.list_continuation):
                follower = by_position.get((chunk_id, index)) or self._sentence(candidate.hit, index, query_vector)
                if follower is None or is_cross_reference(follower.sentence.display):
                    break
                if follower.sentence.words >= 2:  # a bare "1." is not an item
                    listed.append(follower)
            if len(listed) == 1:
                continue
            # One list per answer, plus the best other sentence, keeps it short enough to read between patients.
            others = [c for c in chosen if c.key not in {x.key for x in listed}
                      and not is_dangling(c.sentence.display)][:1]
            return listed + others
        return chosen

    def order(self, focus: QuestionFocus, chosen: list[_Candidate]) -> list[_Candidate]:
        """Lead with the sentence that answers the question's kind, then read in document order: the lead's passage
        first, the rest by their best sentence. A sentence and the one it leans on stay together."""
        shape = _SHAPES.get(focus.kind)
        def lead_score(c: _Candidate) -> float:
            fits = shape is not None and bool(shape.search(c.sentence.display))
            return c.score + (self.answer.type_bonus if fits else 0.0) - (1.0 if is_dangling(c.sentence.display) else 0)
        lead = max(chosen, key=lead_score)
        chunk_order: dict[str, int] = {lead.hit.chunk.id: 0}
        for candidate in chosen:
            chunk_order.setdefault(candidate.hit.chunk.id, len(chunk_order))
        ordered = sorted(chosen, key=lambda c: (chunk_order[c.hit.chunk.id], c.sentence.index))
        # within the lead's passage, start at the lead (or at the sentence it leans on)
        first = [c for c in ordered if c.hit.chunk.id == lead.hit.chunk.id]
        start = first.index(lead)
        while start > 0 and is_dangling(first[start].sentence.display) and \
                first[start - 1].sentence.index == first[start].sentence.index - 1:
            start -= 1
        first = first[start:] + first[:start]
        return first + [c for c in ordered if c.hit.chunk.id != lead.hit.chunk.id]

    def draft(self, ordered: list[_Candidate], support: float) -> Draft:
        citations: dict[str, Citation] = {}
        spans: dict[str, list[Sentence]] = {}
        parts = []
        for candidate in ordered:
            chunk = candidate.hit.chunk
            if chunk.id not in citations:
                citations[chunk.id] = self.citation(chunk.id, len(citations) + 1)
            spans.setdefault(chunk.id, []).append(candidate.sentence)
            parts.append(f"{candidate.sentence.display} [{citations[chunk.id].n}]")
        for chunk_id, citation in citations.items():
            citation.quote = quote_span(self.index.chunks[chunk_id].text, spans[chunk_id])
        return Draft(" ".join(parts), list(citations.values()), False, support)

    def citation(self, chunk_id: str, n: int, quote: str = "") -> Citation:
        chunk = self.index.chunks[chunk_id]
        return cite(chunk, self.docs[chunk.doc_id], n, quote)

    def abstain(self, hits: list[Hit], support: float) -> Draft:
        titles = list(dict.fromkeys(h.chunk.title for h in hits))[:3]
        nearest = f" The nearest guidance I hold is on: {'; '.join(titles)}." if titles else ""
        return Draft(f"{ABSTAIN_TEXT}{nearest} I can help with topics such as automation bias, test accuracy, "
                     "AI regulation in the UK, information governance and reporting AI incidents.", [], True, support)


def cite(chunk: Chunk, doc: SourceDoc, n: int, quote: str = "") -> Citation:
    """The citation of one passage: the one place a Citation is made from a chunk."""
    source = doc.sources[0]
    return Citation(n=n, doc_id=doc.id, title=doc.title, publisher=source.publisher, url=source.url,
                    chunk_id=chunk.id, quote=quote, heading=chunk.heading, year=source.year,
                    review_due=doc.review_due.isoformat())


def quote_span(chunk_text: str, sentences: list[Sentence]) -> str:
    """The verbatim stretch of the chunk from the first to the last sentence used.

    Never cut short: every sentence shown with this citation's [n] must be inside its quote, and a chunk is
    token-bounded, so the stretch is at most one chunk long."""
    starts = [chunk_text.find(s.text) for s in sentences]
    if any(s < 0 for s in starts):
        return sentences[0].text
    first = min(starts)
    last = max(start + len(s.text) for start, s in zip(starts, sentences))
    return chunk_text[first:last]
