"""The input guard's intent classifier: high-precision rules combined with nearest labelled examples.

Rules alone miss paraphrases; similarity alone misses the obvious and is fooled by topic words ("What is prompt
injection?" sits near injections). So each class gets a score: the mean similarity of the message to its nearest
labelled examples (the bundled embedding model, examples embedded once at start), plus the weights of the rules
that fire. A rule with weight FORCE decides on its own. The message is refused only when a refusal class beats
`question` by a margin and clears its own floor, so an unclear message is answered, not refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from tutor.identifiers import MODEL_INSTRUCTION_PATTERNS
from tutor.safety.vocabulary import CLINICAL_ADVICE, EMERGENCY, EXAMPLE_CLASSES, INJECTION, OUT_OF_SCOPE, QUESTION

FORCE = 1.0

#: The order in which refusal classes win when several are forced: safety first.
PRECEDENCE = (EMERGENCY, INJECTION, CLINICAL_ADVICE, OUT_OF_SCOPE)

#: A refusal class must reach this score (similarity plus rule weights) ...
FLOORS = {EMERGENCY: 0.45, INJECTION: 0.45, CLINICAL_ADVICE: 0.25, OUT_OF_SCOPE: 0.2}
#: ... and beat the `question` score by this much. Chosen on the guard set's tuning two-thirds (never the held-out
#: third) as the most accurate values that refuse no answerable message there; see evals/README.md.
MARGINS = {EMERGENCY: 0.06, INJECTION: 0.06, CLINICAL_ADVICE: 0.06, OUT_OF_SCOPE: 0.03}


@dataclass(frozen=True)
class Rule:
    name: str
    label: str
    pattern: re.Pattern
    weight: float


def _rule(name: str, label: str, weight: float, pattern: str, flags: int = re.I) -> Rule:
    return Rule(name, label, re.compile(pattern, flags), weight)


# A message that talks about emergencies in general or in the abstract is not itself an emergency.
HYPOTHETICAL = re.compile(
    r"\b(?:what if|suppose|supposing|imagine|hypothetical\w*|scenario|in theory|in general|would an? (?:ai|tool)|"
    r"could an? (?:ai|tool)|can (?:an? )?(?:ai|tool|algorithm|chatbot|model)|does (?:the |an? )?(?:ai|tool|algorithm)|"
    r"should (?:an? |the )?(?:ai|tool|chatbot)|predict\w*|detect\w*|early warning|algorithm|model|how (?:well|accurate|"
    r"good|reliable)|evidence|studies|study|research|audit|training|teach\w*|simulation|quiz|case study|exam)\b", re.I)

EMERGENCY_SIGNS = (
    _rule("not-breathing", EMERGENCY, FORCE,
          r"\b(?:not|isn'?t|is not|stopped|no longer|barely|hardly)\s+breathing\b|\b(?:can'?t|cannot|can not|unable to|"
          r"struggling to)\s+breathe\b"),
    _rule("collapse", EMERGENCY, FORCE,
          r"\b(?:collapsed|collapsing|unresponsive|no pulse|without a pulse|pulseless|turning blue|gone blue|going blue|"
          r"going grey|choking|fitting|seizing|anaphyla\w+|bleeding (?:heavily|badly|out|profusely|a lot|everywhere)|"
          r"airway is (?:blocked|obstructed)|unconscious(?! bias))\b"),
    _rule("acute-event", EMERGENCY, FORCE,
          r"\b(?:having|has had|is having|'s having|gone into|going into|in)\s+(?:an? )?(?:heart attack|stroke|seizure|fit|"
          r"asthma attack|anaphylactic (?:shock|reaction)|cardiac arrest|respiratory arrest)\b"),
    _rule("self-harm", EMERGENCY, FORCE,
          r"\b(?:kill (?:myself|himself|herself|themselves)|end(?:ing)? (?:my|his|her|their) (?:own )?life|take (?:my|his|her|"
          r"their) own life|suicidal|(?:i|he|she|they) (?:want|wants) to die|self[- ]harm(?:ing)? (?:now|tonight|today)|"
          r"(?:taken|took|swallowed) (?:an? )?(?:overdose|lot of|load of|bottle of|whole|all (?:my|his|her|the))|overdosed|"
          r"(?:taken|took|swallowed) (?:\d+|dozens of|loads of|handfuls of) (?:\w+ )?(?:tablets|pills|capsules))\b"),
    _rule("call-for-help", EMERGENCY, FORCE,
          r"\b(?:call|get|need|send|ring for) (?:an? |the )?(?:ambulance|crash team|resus team|paramedics?|emergency team)\b"),
    _rule("crashing-observations", EMERGENCY, FORCE,
          r"\b(?:blood pressure|bp|sats|saturations|oxygen levels?|heart rate|pulse|gcs|conscious level)\b.{0,30}"
          r"\b(?:dropping|falling|plummeting|crashing)\b"),
    _rule("violence-fire", EMERGENCY, FORCE,
          r"\b(?:threatening|attacking|stabbing|assaulting)\b.{0,30}\b(?:knife|weapon|staff|nurse|me|us|patient)\b|"
          r"\b(?:been|just been|was just|is) (?:stabbed|shot|attacked|assaulted)\b|"
          r"\bfire (?:on|in) the (?:ward|unit|building|clinic)\b"),
)
EMERGENCY_CUES = (
    _rule("urgency", EMERGENCY, 0.08,
          r"\b(?:right now|urgent(?:ly)?|emergency|asap|immediately|deteriorating|(?:dropping|falling) fast|"
          r"and (?:dropping|falling)|crashing|going off|arrest(?:ing|ed)|just happened|happening now)\b"),
    _rule("cry-for-help", EMERGENCY, 0.08, r"\b(?:help|quick|hurry)(?: me| please)?!|^help[,!]|\b(?:dial|ring) 999\b"),
    _rule("in-the-past", EMERGENCY, -0.1,
          r"\b(?:last (?:week|month|year|night|time)|yesterday|years? ago|months? ago|weeks? ago|history of|previous|"
          r"previously|used to)\b"),
    _rule("acute-words", EMERGENCY, 0.06,
          r"\b(?:cardiac arrest|respiratory arrest|heart attack|stroke|seizure|overdose|sats (?:are )?(?:dropping|falling)|"
          r"chest pain|face (?:has )?(?:dropped|drooping)|slurred speech|can'?t (?:lift|move) (?:his|her|their) arm)\b"),
)

INJECTION_SIGNS = tuple(Rule(f"model-instruction-{number}", INJECTION, p, FORCE)
                        for number, p in enumerate(MODEL_INSTRUCTION_PATTERNS, start=1))
INJECTION_SIGNS += (
    _rule("asks-for-instructions", INJECTION, FORCE,
          r"\b(?:what|which) (?:were|are|have) you (?:been )?(?:told|instructed|programmed|asked|configured) to\b|"
          r"\binstructions (?:are you|you are|you're) (?:hiding|keeping|following)\b|"
          r"\b(?:text|words|instructions) (?:comes?|came|is|are) before my message\b"),
    _rule("no-restrictions", INJECTION, FORCE,
          r"\b(?:with|having|had|have) no (?:restrictions|rules|limits|filters|guardrails|content polic(?:y|ies)|"
          r"(?:ethical |safety )?guidelines|safety (?:rules|filters|layer)|ethics)\b"),
    _rule("stop-refusing", INJECTION, FORCE,
          r"\b(?:stop refusing|don'?t refuse|do not refuse|never refuse|you can'?t refuse|without refusing|"
          r"your rules (?:don'?t|do not) apply)\b"),
    _rule("switch-off-safety", INJECTION, FORCE,
          r"\b(?:disable|switch off|turn off|remove|deactivate|drop|lift) (?:your|all your) (?:guard|safety|filters?|checks|"
          r"restrictions|guardrails|safeguards|content policy|rules)\b|\b(?:disable|switch off|turn off|deactivate) the "
          r"(?:guard|safety layer|safety checks|filters)\b"),
    _rule("stop-being-tutor", INJECTION, FORCE,
          r"\b(?:forget|stop being|you'?re not|you are not|you are no longer|you'?re no longer) (?:that )?(?:you'?re |you are )?"
          r"(?:an? )?(?:\w+ )?(?:tutor|assistant|chatbot|bot)\b"),
)
INJECTION_CUES = (
    _rule("jailbreak-words", INJECTION, 0.06,
          r"\b(?:jailbr\w+|dan|developer mode|no restrictions|unrestricted|unfiltered|uncensored|your (?:system )?prompt|"
          r"hidden (?:instructions|rules|prompt)|your (?:instructions|rules|programming|guidelines)|pretend|roleplay|"
          r"role-play|act as|override|bypass)\b"),
)

_SUBJECT = (r"(?:\b(?:my|this|our|these)\s+(?:\d{1,3}[- ]?(?:year|yr|month|week)s?[- ]?old\s+)?(?:\w+\s+)?(?:patient|pt|"
            r"client|resident|service user|lady|gentleman|man|woman|boy|girl|baby|infant|child|toddler|teenager|son|"
            r"daughter|husband|wife|partner|mum|mother|dad|father|gran|grandmother|grandfather)s?\b"
            r"|\b(?:the )?(?:patient|man|woman|lady|gentleman|child|boy|girl) in (?:bed|bay|cubicle|room|side room)\b"
            r"|\b(?:bed|bay|cubicle) \d+\b|\b\d{1,3}[- ]?(?:year|yr)s?[- ]?old\b|\b\d{1,3} ?(?:yo|y/o)\b|\[name\])")
_DECISION = (r"(?:\b(?:dose|doses|dosage|dosing|how much (?:\w+ )?(?:should (?:i|we|he|she) (?:give|take|have)|to give|"
             r"can (?:i|we) give)|how many (?:mg|units|tablets|ml|puffs)|prescribe|prescribing|"
             r"start (?:him|her|them|on)|give (?:him|her|them)|should (?:i|we) (?:give|start|stop|prescribe|increase|"
             r"reduce|decrease|double|halve|treat|admit|discharge|refer|send|order|operate|withhold|switch|change|add|"
             r"upgrade|escalate)|what (?:should|do|would|shall) (?:i|we|you) (?:do|give|prescribe|use|start)|which (?:drug|"
             r"antibiotic|medication|medicine|insulin|treatment|antidepressant|painkiller|inhaler|regimen)|treatment (?:for|"
             r"plan)|treat (?:him|her|them|this|it)|manage (?:him|her|them|this|his|her)|diagnos(?:e|is)|what'?s wrong with|"
             r"does (?:he|she|my \w+) have|is (?:it|this|that) (?:cancer|sepsis|melanoma|malignant|benign|shingles|an? \w+)|"
             r"safe (?:for|to give) (?:him|her|them|my)|can (?:he|she|my \w+) (?:go home|have|take|be discharged)|"
             r"interpret (?:these|this|her|his|my)|work out the|should (?:i|we) \w+ (?:him|her|them|this patient))\b"
             r"|\b\d+(?:\.\d+)? ?(?:mg|mcg|micrograms?|units|ml|mmol|kg)\b)")
CLINICAL_SIGNS = (
    _rule("dose-for-person", CLINICAL_ADVICE, FORCE,
          rf"{_SUBJECT}.{{0,120}}\b(?:dose|doses|dosage|dosing|how many (?:mg|units|ml|tablets)|prescribe|"
          r"titrate)\b|\b(?:dose|dosage|prescribe)\b.{0,80}" + _SUBJECT),
)
CLINICAL_CUES = (
    _rule("person-and-decision", CLINICAL_ADVICE, 0.12, rf"{_SUBJECT}.{{0,160}}{_DECISION}|{_DECISION}.{{0,160}}{_SUBJECT}"),
    _rule("decision", CLINICAL_ADVICE, 0.04, _DECISION),
    _rule("particular-person", CLINICAL_ADVICE, 0.05, _SUBJECT),
    _rule("nobody-in-particular", CLINICAL_ADVICE, -0.12, rf"^(?!.*{_SUBJECT})", re.I | re.S),
)

# About AI, data or the rules for them: a message that names these is very probably in scope.
DOMAIN = re.compile(
    r"\b(?:ai|a\.i\.|artificial intelligence|machine learning|deep learning|neural|algorithms?|models?|llms?|chatgpt|"
    r"gpt\w*|copilot|gemini|claude|chatbots?|large language|generative|automat\w+|digital|software|apps?|tools?|devices?|"
    r"samd|dtac|dcb ?0?1[26][09]|mhra|ukca|ce mark\w*|gdpr|data protection|caldicott|dpia|dspt|information governance|"
    r"bias|biases|biased|sensitivity|specificity|ppv|npv|predictive values?|false (?:positives?|negatives?)|auroc|auc|"
    r"calibrat\w+|overfit\w*|dataset|training data|validation|validated|scribes?|transcri\w+|prediction|predictive|"
    r"risk scores?|alerts?|decision support|yellow card|hallucinat\w+|prompts?|topol|archetypes?|deskilling|airlock|"
    r"regulat\w+|nice|evidence standards|computer|screening|triage tools?|robots?|wearables?|data|roc|pulse oximet\w*|"
    r"nmc|gmc|hcpc|learning pathways?|pathways?|quiz|test me|teach\w*|tutor|capability framework|technolog\w*)\b",
    re.I)
SCOPE_CUES = (
    Rule("about-ai-or-data", OUT_OF_SCOPE, DOMAIN, -0.12),
)

RULES = EMERGENCY_SIGNS + EMERGENCY_CUES + INJECTION_SIGNS + INJECTION_CUES + CLINICAL_SIGNS + CLINICAL_CUES + SCOPE_CUES


@dataclass
class Classification:
    intent: str
    scores: dict[str, float]
    rules: list[str] = field(default_factory=list)
    nearest: str = ""


class ExampleIndex:
    """Labelled sentences and their unit vectors, embedded once; `similarities` costs one matrix product."""

    def __init__(self, labels: list[str], texts: list[str], vectors: np.ndarray):
        self.labels = np.array(labels)
        self.texts = texts
        self.vectors = vectors.astype(np.float32)

    def similarities(self, vector: np.ndarray) -> np.ndarray:
        return self.vectors @ vector.astype(np.float32)

    def label_mask(self, label: str) -> np.ndarray:
        return self.labels == label


class IntentClassifier:
    def __init__(self, examples: ExampleIndex, neighbours: int = 3):
        self.examples = examples
        self.neighbours = neighbours
        self._masks = {label: examples.label_mask(label) for label in EXAMPLE_CLASSES}

    def example_scores(self, similarities: np.ndarray) -> dict[str, float]:
        scores = {}
        for label, mask in self._masks.items():
            values = similarities[mask]
            if values.size == 0:
                scores[label] = 0.0
                continue
            k = min(self.neighbours, values.size)
            scores[label] = float(np.mean(np.partition(values, -k)[-k:]))
        return scores

    def classify(self, text: str, vector: np.ndarray | None) -> Classification:
        """`text` is the redacted, normalised message; `vector` its embedding (None: rules only)."""
        if vector is not None:
            similarities = self.examples.similarities(vector)
            scores = self.example_scores(similarities)
            best = int(np.argmax(similarities)) if similarities.size else -1
            nearest = f"{self.examples.labels[best]}: {self.examples.texts[best]}" if best >= 0 else ""
        else:
            scores, nearest = {label: 0.0 for label in EXAMPLE_CLASSES}, ""
            scores[QUESTION] = 0.5
        fired: list[str] = []
        forced: set[str] = set()
        hypothetical = bool(HYPOTHETICAL.search(text))
        for rule in RULES:
            if not rule.pattern.search(text):
                continue
            weight = rule.weight
            if rule.label == EMERGENCY and weight >= FORCE and hypothetical:
                weight = 0.1  # "can AI predict cardiac arrest?" names an emergency without being one
            fired.append(rule.name)
            if weight >= FORCE:
                forced.add(rule.label)
            else:
                scores[rule.label] += weight
        scores = {label: round(value, 4) for label, value in scores.items()}
        for label in PRECEDENCE:
            if label in forced:
                return Classification(label, scores, fired, nearest)
        candidates = [label for label in PRECEDENCE
                      if scores[label] >= FLOORS[label] and scores[label] - scores[QUESTION] >= MARGINS[label]]
        intent = max(candidates, key=lambda label: scores[label]) if candidates else QUESTION
        return Classification(intent, scores, fired, nearest)
